// The public layer factories (kerosene::layers) and the Layer handle.
#include "kerosene/layers.h"

#include "kerosene/error.h"
#include "nn/conv2d.h"
#include "nn/dense.h"
#include "nn/depthwise_conv2d.h"
#include "nn/merge_layers.h"
#include "nn/normalization.h"
#include "nn/simple_layers.h"
#include "nn/spatial_layers.h"
#include "ops/ops.h"

namespace kerosene {

const std::string& Layer::name() const { return impl_->name(); }
std::string Layer::class_name() const { return impl_->class_name(); }
Shape Layer::output_shape() const { return impl_->output_shape(); }
int64_t Layer::count_params() const { return impl_->count_params(); }
mixed_precision::DTypePolicy Layer::dtype_policy() const { return mixed_precision::DTypePolicy(impl_->dtype_policy()); }
void Layer::set_dtype_policy(const mixed_precision::DTypePolicy& policy) { impl_->set_dtype_policy(policy.name()); }

std::vector<Tensor> Layer::get_weights() const {
  std::vector<Tensor> out;
  for (auto& v : impl_->variables()) out.push_back(v.value.clone());
  return out;
}

void Layer::set_weights(const std::vector<Tensor>& weights) {
  auto& vars = impl_->variables();
  if (weights.size() != vars.size()) {
    throw ValueError("layer \"" + name() + "\" has " + std::to_string(vars.size()) + " weights, " +
                     std::to_string(weights.size()) + " were given");
  }
  for (size_t i = 0; i < vars.size(); ++i) {
    if (weights[i].shape() != vars[i].value.shape()) {
      throw ValueError("layer \"" + name() + "\": weight " + vars[i].name + " has shape " +
                       vars[i].value.shape().to_string() + ", the given one " + weights[i].shape().to_string());
    }
    Tensor src = weights[i].astype(DType::float32).to(vars[i].value.device());
    ops::backend_of("copy_on_device", vars[i].value).copy_on_device(vars[i].value.raw_data(), src.raw_data(),
                                                               src.nbytes());
  }
}

namespace layers {
namespace {

std::string name_or(const std::string& name, const std::string& base) {
  return name.empty() ? nn::unique_name(base) : name;
}

}  // namespace

Layer Input(const Shape& shape, const std::string& name) {
  return Layer(std::make_shared<nn::InputLayer>(shape, name_or(name, "input")));
}

Layer Dense(int64_t units, const DenseOptions& o) {
  nn::Dense::Config c{units, nn::parse_activation(o.activation), o.use_bias, o.kernel_initializer, o.bias_initializer};
  auto layer = std::make_shared<nn::Dense>(c, name_or(o.name, "dense"));
  if (!o.dtype.empty()) layer->set_dtype_policy(o.dtype);
  return Layer(layer);
}

Layer Conv2D(int64_t filters, Size2D kernel_size, const Conv2DOptions& o) {
  nn::Conv2D::Config c{filters, kernel_size.first, kernel_size.second, o.strides.first, o.strides.second,
                       o.padding, nn::parse_activation(o.activation), o.use_bias, o.kernel_initializer,
                       o.bias_initializer, o.dilation_rate.first, o.dilation_rate.second};
  auto layer = std::make_shared<nn::Conv2D>(c, name_or(o.name, "conv2d"));
  if (!o.dtype.empty()) layer->set_dtype_policy(o.dtype);
  return Layer(layer);
}

namespace {

nn::DepthwiseWindow depthwise_window(Size2D kernel_size, Size2D strides, const std::string& padding,
                                     int depth_multiplier, Size2D dilation_rate) {
  return {kernel_size.first, kernel_size.second, strides.first, strides.second, padding, depth_multiplier,
          dilation_rate.first, dilation_rate.second};
}

}  // namespace

Layer DepthwiseConv2D(Size2D kernel_size, const DepthwiseConv2DOptions& o) {
  nn::DepthwiseConv2D::Config c{depthwise_window(kernel_size, o.strides, o.padding, o.depth_multiplier, o.dilation_rate),
                                nn::parse_activation(o.activation), o.use_bias, o.depthwise_initializer,
                                o.bias_initializer};
  return Layer(std::make_shared<nn::DepthwiseConv2D>(c, name_or(o.name, "depthwise_conv2d")));
}

Layer SeparableConv2D(int64_t filters, Size2D kernel_size, const SeparableConv2DOptions& o) {
  nn::SeparableConv2D::Config c{filters,
                                depthwise_window(kernel_size, o.strides, o.padding, o.depth_multiplier, o.dilation_rate),
                                nn::parse_activation(o.activation),
                                o.use_bias,
                                o.depthwise_initializer,
                                o.pointwise_initializer,
                                o.bias_initializer};
  return Layer(std::make_shared<nn::SeparableConv2D>(c, name_or(o.name, "separable_conv2d")));
}

namespace {
Layer pooling(backends::PoolKind kind, Size2D pool, const Pooling2DOptions& o, const char* base) {
  const Size2D strides = o.strides.value_or(pool);
  nn::Pooling2D::Config c{kind, pool.first, pool.second, strides.first, strides.second, o.padding};
  return Layer(std::make_shared<nn::Pooling2D>(c, name_or(o.name, base)));
}

Layer spatial_copy(nn::SpatialCopy2D::Config c, const Margins2D& m, const std::string& name, const char* base) {
  c.top = m.top;
  c.bottom = m.bottom;
  c.left = m.left;
  c.right = m.right;
  return Layer(std::make_shared<nn::SpatialCopy2D>(c, name_or(name, base)));
}
}  // namespace

Layer MaxPooling2D(Size2D pool_size, const Pooling2DOptions& o) {
  return pooling(backends::PoolKind::max, pool_size, o, "max_pooling2d");
}

Layer AveragePooling2D(Size2D pool_size, const Pooling2DOptions& o) {
  return pooling(backends::PoolKind::average, pool_size, o, "average_pooling2d");
}

Layer GlobalAveragePooling2D(const GlobalPooling2DOptions& o) {
  return Layer(std::make_shared<nn::GlobalPooling2D>(backends::PoolKind::average, o.keepdims,
                                                     name_or(o.name, "global_average_pooling2d")));
}

Layer GlobalMaxPooling2D(const GlobalPooling2DOptions& o) {
  return Layer(std::make_shared<nn::GlobalPooling2D>(backends::PoolKind::max, o.keepdims,
                                                     name_or(o.name, "global_max_pooling2d")));
}

Layer ZeroPadding2D(Margins2D padding, const std::string& name) {
  return spatial_copy({nn::SpatialCopy2D::Kind::zero_padding}, padding, name, "zero_padding2d");
}

Layer Cropping2D(Margins2D cropping, const std::string& name) {
  return spatial_copy({nn::SpatialCopy2D::Kind::cropping}, cropping, name, "cropping2d");
}

Layer UpSampling2D(Size2D size, const std::string& interpolation, const std::string& name) {
  if (interpolation != "nearest") {
    throw ValueError("UpSampling2D: interpolation \"" + interpolation +
                     "\" is not supported; kerosene implements \"nearest\" only");
  }
  nn::SpatialCopy2D::Config c{nn::SpatialCopy2D::Kind::up_sampling};
  c.size_h = size.first;
  c.size_w = size.second;
  return Layer(std::make_shared<nn::SpatialCopy2D>(c, name_or(name, "up_sampling2d")));
}

Layer Rescaling(double scale, double offset, const std::string& name) {
  return Layer(std::make_shared<nn::Rescaling>(scale, offset, name_or(name, "rescaling")));
}

Layer Flatten(const std::string& name) {
  return Layer(std::make_shared<nn::ReshapeLayer>(std::nullopt, "Flatten", name_or(name, "flatten")));
}

Layer Dropout(float rate, std::optional<uint64_t> seed, const std::string& name) {
  return Layer(std::make_shared<nn::Dropout>(rate, seed, name_or(name, "dropout")));
}

Layer Activation(const std::string& activation, const std::string& name) {
  return Layer(std::make_shared<nn::ActivationLayer>(nn::activation_params(nn::parse_activation(activation)),
                                                     "Activation", name_or(name, "activation")));
}

// Default names are Keras' snake_case of the class: ReLU -> re_lu, LeakyReLU -> leaky_re_lu.
Layer ReLU(const ReLUOptions& o) {
  backends::ActivationParams p{};
  p.kind = backends::ActivationKind::relu;
  p.negative_slope = o.negative_slope;
  if (o.max_value) p.max_value = *o.max_value;
  p.threshold = o.threshold;
  return Layer(std::make_shared<nn::ActivationLayer>(p, "ReLU", name_or(o.name, "re_lu")));
}

Layer LeakyReLU(float negative_slope, const std::string& name) {
  backends::ActivationParams p{};
  p.kind = backends::ActivationKind::leaky_relu;
  p.negative_slope = negative_slope;
  return Layer(std::make_shared<nn::ActivationLayer>(p, "LeakyReLU", name_or(name, "leaky_re_lu")));
}

Layer Softmax(int axis, const std::string& name) {
  backends::ActivationParams p{};
  p.kind = backends::ActivationKind::softmax;
  p.axis = axis;
  return Layer(std::make_shared<nn::ActivationLayer>(p, "Softmax", name_or(name, "softmax")));
}

Layer Reshape(const Shape& target_shape, const std::string& name) {
  return Layer(std::make_shared<nn::ReshapeLayer>(target_shape, "Reshape", name_or(name, "reshape")));
}

Layer Add(const std::string& name) { return Layer(std::make_shared<nn::Merge>(nn::Merge::Op::add, name_or(name, "add"))); }
Layer Subtract(const std::string& name) {
  return Layer(std::make_shared<nn::Merge>(nn::Merge::Op::subtract, name_or(name, "subtract")));
}
Layer Multiply(const std::string& name) {
  return Layer(std::make_shared<nn::Merge>(nn::Merge::Op::multiply, name_or(name, "multiply")));
}
Layer Average(const std::string& name) {
  return Layer(std::make_shared<nn::Merge>(nn::Merge::Op::average, name_or(name, "average")));
}
Layer Maximum(const std::string& name) {
  return Layer(std::make_shared<nn::Merge>(nn::Merge::Op::maximum, name_or(name, "maximum")));
}
Layer Minimum(const std::string& name) {
  return Layer(std::make_shared<nn::Merge>(nn::Merge::Op::minimum, name_or(name, "minimum")));
}
Layer Concatenate(int axis, const std::string& name) {
  return Layer(std::make_shared<nn::Concatenate>(axis, name_or(name, "concatenate")));
}

Layer BatchNormalization(const BatchNormalizationOptions& o) {
  nn::BatchNormalization::Config c{o.axis, o.momentum, o.epsilon, o.center, o.scale, o.beta_initializer,
                                   o.gamma_initializer, o.moving_mean_initializer, o.moving_variance_initializer,
                                   o.synchronized};
  return Layer(std::make_shared<nn::BatchNormalization>(c, name_or(o.name, "batch_normalization")));
}

Layer LayerNormalization(const LayerNormalizationOptions& o) {
  nn::LayerNormalization::Config c{o.axis, o.epsilon, o.center, o.scale, o.beta_initializer, o.gamma_initializer};
  return Layer(std::make_shared<nn::LayerNormalization>(c, name_or(o.name, "layer_normalization")));
}

}  // namespace layers
}  // namespace kerosene
