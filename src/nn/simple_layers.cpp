#include "nn/simple_layers.h"

#include <cstdio>

#include "kerosene/error.h"
#include "nn/conv2d.h"
#include "ops/ops.h"

namespace kerosene::nn {

// --- Input -------------------------------------------------------------------------------------

InputLayer::InputLayer(const Shape& shape, std::string name) : Layer("InputLayer", std::move(name)), shape_(shape) {
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] <= 0) throw ValueError("Input: every dimension must be positive, got " + shape.to_string());
  }
}
const Tensor& InputLayer::forward(const Tensor& x, bool) { return out_ = x; }
const Tensor& InputLayer::backward(const Tensor& dy, bool) { return dy; }

// --- Pooling -----------------------------------------------------------------------------------

Pooling2D::Pooling2D(const Config& config, std::string name)
    : Layer(config.kind == backends::PoolKind::max ? "MaxPooling2D" : "AveragePooling2D", std::move(name)),
      config_(config) {
  if (config.pool_h <= 0 || config.pool_w <= 0 || config.stride_h <= 0 || config.stride_w <= 0) {
    throw ValueError(class_name() + ": pool size and strides must be positive");
  }
  compute_padding(config.padding, 1, 1, 1);
}

Shape Pooling2D::compute_output_shape(const Shape& input) const {
  if (input.rank() != 3) {
    throw ValueError(class_name() + " layer \"" + name() + "\" expects inputs of shape (height, width, channels), found " +
                     input.to_string());
  }
  const auto h = compute_padding(config_.padding, input[0], config_.pool_h, config_.stride_h);
  const auto w = compute_padding(config_.padding, input[1], config_.pool_w, config_.stride_w);
  if (h.out <= 0 || w.out <= 0) {
    throw ValueError(class_name() + " layer \"" + name() + "\": the pool does not fit an input of " + input.to_string());
  }
  return {h.out, w.out, input[2]};
}

backends::Pool2DParams Pooling2D::params(int64_t batch) const {
  const Shape& in = input_shape();
  const auto h = compute_padding(config_.padding, in[0], config_.pool_h, config_.stride_h);
  const auto w = compute_padding(config_.padding, in[1], config_.pool_w, config_.stride_w);
  return {config_.kind, batch, in[0], in[1], in[2], h.out, w.out, config_.pool_h, config_.pool_w,
          config_.stride_h, config_.stride_w, h.before, w.before, h.after, w.after};
}

const Tensor& Pooling2D::forward(const Tensor& x, bool training) {
  check_input(x);
  const auto p = params(x.dim(0));
  x_ = x;
  ops::ensure(out_, output_shape().with_batch(x.dim(0)), device_);
  ops::backend_of("pool2d_forward", x).pool2d_forward(p, x, out_);
  return out_;
}

const Tensor& Pooling2D::backward(const Tensor& dy, bool need_dx) {
  const auto p = params(dy.dim(0));
  ops::ensure(dx_, input_shape().with_batch(dy.dim(0)), device_);
  ops::backend_of("pool2d_backward", dy).pool2d_backward(p, x_, out_, dy, dx_);
  return dx_;
}

// --- Flatten / Reshape -------------------------------------------------------------------------

ReshapeLayer::ReshapeLayer(std::optional<Shape> target, std::string class_name, std::string name)
    : Layer(std::move(class_name), std::move(name)), target_(std::move(target)) {}

Shape ReshapeLayer::compute_output_shape(const Shape& input) const {
  if (!target_) return {input.numel()};
  const Shape out = target_->resolve_wildcard(input.numel());
  if (out.numel() != input.numel()) {
    throw ValueError("Reshape layer \"" + name() + "\": cannot reshape " + input.to_string() + " (" +
                     std::to_string(input.numel()) + " elements) to " + target_->to_string());
  }
  return out;
}

const Tensor& ReshapeLayer::forward(const Tensor& x, bool) {
  check_input(x);
  return out_ = x.reshape(output_shape().with_batch(x.dim(0)));
}

const Tensor& ReshapeLayer::backward(const Tensor& dy, bool) {
  return dx_ = dy.reshape(input_shape().with_batch(dy.dim(0)));
}

// --- Dropout -----------------------------------------------------------------------------------

Dropout::Dropout(float rate, std::optional<uint64_t> seed, std::string name)
    : Layer("Dropout", std::move(name)), rate_(rate), seed_(seed) {
  if (!(rate >= 0.0f && rate < 1.0f)) {
    throw ValueError("Dropout: rate must be in [0, 1), got " + std::to_string(rate));
  }
}

const Tensor& Dropout::forward(const Tensor& x, bool training) {
  dropped_ = training && rate_ > 0.0f;
  if (!dropped_) return x_ = x;
  ops::ensure(mask_, x.shape(), device_);
  ops::ensure(out_, x.shape(), device_);
  ops::backend_of("dropout_forward", x).dropout_forward(x, mask_, out_, rate_, seed_.value_or(default_seed_), offset_);
  offset_ += static_cast<uint64_t>(x.numel() + 3) / 4;
  return out_;
}

const Tensor& Dropout::backward(const Tensor& dy, bool) {
  if (!dropped_) return dy;
  ops::ensure(dx_, dy.shape(), device_);
  ops::backend_of("multiply", dy).multiply(dy, mask_, dx_);
  return dx_;
}

// --- Rescaling ---------------------------------------------------------------------------------

Rescaling::Rescaling(double scale, double offset, std::string name)
    : Layer("Rescaling", std::move(name)), scale_(scale), offset_(offset) {}

// Two kernels every backend has: out = offset, then out = scale * x + 1 * out.
const Tensor& Rescaling::forward(const Tensor& x, bool) {
  check_input(x);
  ops::ensure(out_, x.shape(), device_);
  auto& backend = ops::backend_of("rescaling", x);
  const auto scale = static_cast<float>(scale_), offset = static_cast<float>(offset_);
  if (offset == 0.0f) {
    backend.axpby(scale, x, 0.0f, x, out_);
  } else {
    backend.fill(out_, offset);
    backend.axpby(scale, x, 1.0f, out_, out_);
  }
  return out_;
}

const Tensor& Rescaling::backward(const Tensor& dy, bool) {
  ops::ensure(dx_, dy.shape(), device_);
  ops::backend_of("rescaling_backward", dy).axpby(static_cast<float>(scale_), dy, 0.0f, dy, dx_);
  return dx_;
}

// --- Activation --------------------------------------------------------------------------------

ActivationLayer::ActivationLayer(const backends::ActivationParams& params, std::string class_name, std::string name)
    : Layer(std::move(class_name), std::move(name)), stage_(params) {
  // Keras' ReLU and LeakyReLU layers refuse these in their constructors.
  auto refuse = [&](const char* what, float value) {
    char text[32];
    std::snprintf(text, sizeof text, "%g", value);
    throw ValueError(this->class_name() + " layer \"" + this->name() + "\": " + what + " must be 0 or more, not " + text);
  };
  if (!(params.negative_slope >= 0.0f)) refuse("negative_slope", params.negative_slope);
  if (!(params.max_value >= 0.0f)) refuse("max_value", params.max_value);
  if (!(params.threshold >= 0.0f)) refuse("threshold", params.threshold);
}

Shape ActivationLayer::compute_output_shape(const Shape& input) const {
  if (params().kind == backends::ActivationKind::softmax) {
    const int rank = input.rank() + 1;  // Keras' axis counts the batch dimension
    if (params().axis < -rank || params().axis >= rank) {
      throw ValueError(class_name() + " layer \"" + name() + "\": axis " + std::to_string(params().axis) + " is outside its input of " +
                       std::to_string(rank) + " dimensions (the batch's included): use -" + std::to_string(rank) +
                       " to " + std::to_string(rank - 1));
    }
  }
  return input;
}

backends::ActivationKind ActivationLayer::activation() const {
  const auto& p = params();
  if (p.kind == backends::ActivationKind::softmax && p.axis != -1 && !(built() && p.axis == input_shape().rank())) {
    return backends::ActivationKind::linear;
  }
  return p.kind;
}

const Tensor& ActivationLayer::forward(const Tensor& x, bool) {
  if (stage_.fused() != backends::ActivationKind::relu) return stage_.forward(x);
  // Plain relu is normally fused into the previous op; standing alone it needs its own output.
  ops::ensure(copy_, x.shape(), device_);
  ops::backend_of("activation_forward", x).activation_forward(stage_.params(), x, copy_);
  return stage_.forward(copy_);
}

const Tensor& ActivationLayer::backward(const Tensor& dy, bool) { return stage_.backward(dy); }

}  // namespace kerosene::nn
