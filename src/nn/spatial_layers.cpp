#include "nn/spatial_layers.h"

#include "kerosene/error.h"
#include "ops/ops.h"

namespace kerosene::nn {
namespace {

// Keras' own message for a non-image input, with the layer's name.
void require_image(const Layer& layer, const Shape& input) {
  if (input.rank() != 3) {
    throw ValueError(layer.class_name() + " layer \"" + layer.name() +
                     "\" expects inputs of shape (height, width, channels) per sample, found " + input.to_string());
  }
}

}  // namespace

// --- GlobalAveragePooling2D, GlobalMaxPooling2D -----------------------------------------------

GlobalPooling2D::GlobalPooling2D(backends::PoolKind kind, bool keepdims, std::string name)
    : Layer(kind == backends::PoolKind::max ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D", std::move(name)),
      kind_(kind),
      keepdims_(keepdims) {}

Shape GlobalPooling2D::compute_output_shape(const Shape& input) const {
  require_image(*this, input);
  return keepdims_ ? Shape{1, 1, input[2]} : Shape{input[2]};
}

// One window covering the image, its stride the image too: the pooling kernels then treat the
// windows as tiling the input, which their backward passes do fastest.
backends::Pool2DParams GlobalPooling2D::params(int64_t batch) const {
  const Shape& in = input_shape();
  return {kind_, batch, in[0], in[1], in[2], 1, 1, in[0], in[1], in[0], in[1], 0, 0, 0, 0};
}

const Tensor& GlobalPooling2D::forward(const Tensor& x, bool) {
  check_input(x);
  x_ = x;
  const int64_t batch = x.dim(0), channels = input_shape()[2];
  ops::ensure(pooled_, {batch, 1, 1, channels}, device_);
  ops::backend_of("pool2d_forward", x).pool2d_forward(params(batch), x, pooled_);
  return out_ = keepdims_ ? pooled_ : pooled_.reshape({batch, channels});
}

const Tensor& GlobalPooling2D::backward(const Tensor& dy, bool) {
  const int64_t batch = dy.dim(0);
  ops::ensure(dx_, input_shape().with_batch(batch), device_);
  const Tensor g = dy.reshape(pooled_.shape());
  ops::backend_of("pool2d_backward", dy).pool2d_backward(params(batch), x_, pooled_, g, dx_);
  return dx_;
}

// --- ZeroPadding2D, Cropping2D, UpSampling2D --------------------------------------------------

namespace {
const char* class_name_of(SpatialCopy2D::Kind kind) {
  switch (kind) {
    case SpatialCopy2D::Kind::zero_padding: return "ZeroPadding2D";
    case SpatialCopy2D::Kind::cropping: return "Cropping2D";
    case SpatialCopy2D::Kind::up_sampling: return "UpSampling2D";
  }
  return "?";
}
}  // namespace

SpatialCopy2D::SpatialCopy2D(const Config& config, std::string name)
    : Layer(class_name_of(config.kind), std::move(name)), config_(config) {
  const std::string where = class_name() + " layer \"" + this->name() + "\": ";
  if (config.kind == Kind::up_sampling) {
    if (config.size_h <= 0 || config.size_w <= 0) {
      throw ValueError(where + "size must be positive, got (" + std::to_string(config.size_h) + ", " +
                       std::to_string(config.size_w) + ")");
    }
  } else if (config.top < 0 || config.bottom < 0 || config.left < 0 || config.right < 0) {
    throw ValueError(where + (config.kind == Kind::cropping ? "cropping" : "padding") + " must be 0 or more, got " +
                     margins_text());
  }
}

std::string SpatialCopy2D::margins_text() const {
  const auto& c = config_;
  return "((" + std::to_string(c.top) + ", " + std::to_string(c.bottom) + "), (" + std::to_string(c.left) + ", " +
         std::to_string(c.right) + "))";
}

Shape SpatialCopy2D::compute_output_shape(const Shape& input) const {
  require_image(*this, input);
  const auto& c = config_;
  switch (c.kind) {
    case Kind::zero_padding:
      return {input[0] + c.top + c.bottom, input[1] + c.left + c.right, input[2]};
    case Kind::cropping: {
      const int64_t h = input[0] - c.top - c.bottom, w = input[1] - c.left - c.right;
      if (h <= 0 || w <= 0) {
        throw ValueError("Cropping2D layer \"" + name() + "\": cropping " + margins_text() +
                         " leaves nothing of an input of " + input.to_string());
      }
      return {h, w, input[2]};
    }
    case Kind::up_sampling:
      return {input[0] * c.size_h, input[1] * c.size_w, input[2]};
  }
  return input;
}

backends::SpatialCopy2DParams SpatialCopy2D::params(int64_t batch) const {
  const Shape& in = input_shape();
  const Shape& out = output_shape();
  const auto& c = config_;
  backends::SpatialCopy2DParams p{batch, in[0], in[1], in[2], out[0], out[1], 0, 0, 1, 1};
  if (c.kind == Kind::zero_padding) {
    p.offset_h = c.top;
    p.offset_w = c.left;
  } else if (c.kind == Kind::cropping) {
    p.offset_h = -c.top;
    p.offset_w = -c.left;
  } else {
    p.repeat_h = c.size_h;
    p.repeat_w = c.size_w;
  }
  return p;
}

const Tensor& SpatialCopy2D::forward(const Tensor& x, bool) {
  check_input(x);
  ops::ensure(out_, output_shape().with_batch(x.dim(0)), device_);
  ops::backend_of("spatial_copy2d", x).spatial_copy2d(params(x.dim(0)), x, out_);
  return out_;
}

const Tensor& SpatialCopy2D::backward(const Tensor& dy, bool) {
  ops::ensure(dx_, input_shape().with_batch(dy.dim(0)), device_);
  ops::backend_of("spatial_copy2d_backward", dy).spatial_copy2d_backward(params(dy.dim(0)), dy, dx_);
  return dx_;
}

}  // namespace kerosene::nn
