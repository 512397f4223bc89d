#include "nn/conv2d.h"

#include "kerosene/error.h"
#include "nn/initializers.h"
#include "ops/ops.h"

namespace kerosene::nn {

Padding1D compute_padding(const std::string& padding, int64_t in, int64_t kernel, int64_t stride) {
  if (padding == "valid") {
    return {in >= kernel ? (in - kernel) / stride + 1 : 0, 0, 0};
  }
  if (padding == "same") {
    // TensorFlow's rule: pad so that out = ceil(in / stride); the extra pixel goes after.
    const int64_t out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((out - 1) * stride + kernel - in, 0);
    return {out, total / 2, total - total / 2};
  }
  throw ValueError("unknown padding \"" + padding + "\"; expected \"valid\" or \"same\"");
}

Conv2D::Conv2D(const Config& config, std::string name)
    : Layer("Conv2D", std::move(name)), config_(config), stage_(config.activation) {
  if (config.filters <= 0 || config.kernel_h <= 0 || config.kernel_w <= 0 || config.stride_h <= 0 ||
      config.stride_w <= 0) {
    throw ValueError("Conv2D: filters, kernel size and strides must be positive");
  }
  if (config.dilation_h <= 0 || config.dilation_w <= 0) {
    throw ValueError("Conv2D layer \"" + this->name() + "\": dilation_rate must be positive, got (" +
                     std::to_string(config.dilation_h) + ", " + std::to_string(config.dilation_w) + ")");
  }
  // Keras refuses the combination (its backends do not all implement it); so does kerosene, so
  // that every model it writes loads in Keras.
  if ((config.stride_h > 1 || config.stride_w > 1) && (config.dilation_h > 1 || config.dilation_w > 1)) {
    throw ValueError("Conv2D layer \"" + this->name() + "\": strides > 1 are not supported together with " +
                     "dilation_rate > 1 (as in Keras); got strides (" + std::to_string(config.stride_h) + ", " +
                     std::to_string(config.stride_w) + ") and dilation_rate (" + std::to_string(config.dilation_h) +
                     ", " + std::to_string(config.dilation_w) + ")");
  }
  compute_padding(config.padding, 1, 1, 1);  // validates the name early
}

Shape Conv2D::compute_output_shape(const Shape& input) const {
  if (input.rank() != 3) {
    throw ValueError("Conv2D layer \"" + name() + "\" expects inputs of shape (height, width, channels) per sample, found " +
                     input.to_string() + "; add a channels dimension, e.g. Input({28, 28, 1})");
  }
  const auto h = compute_padding(config_.padding, input[0], span_h(), config_.stride_h);
  const auto w = compute_padding(config_.padding, input[1], span_w(), config_.stride_w);
  if (h.out <= 0 || w.out <= 0) {
    const bool dilated = config_.dilation_h > 1 || config_.dilation_w > 1;
    throw ValueError("Conv2D layer \"" + name() + "\": a " + std::to_string(config_.kernel_h) + "x" +
                     std::to_string(config_.kernel_w) + " kernel" +
                     (dilated ? " dilated to " + std::to_string(span_h()) + "x" + std::to_string(span_w()) : "") +
                     " does not fit an input of " + input.to_string() + " with padding \"" + config_.padding + "\"");
  }
  return {h.out, w.out, config_.filters};
}

backends::Conv2DParams Conv2D::params(int64_t batch) const {
  const Shape& in = input_shape();
  const auto h = compute_padding(config_.padding, in[0], span_h(), config_.stride_h);
  const auto w = compute_padding(config_.padding, in[1], span_w(), config_.stride_w);
  return {batch, in[0], in[1], in[2], h.out, w.out, config_.filters, config_.kernel_h, config_.kernel_w,
          config_.stride_h, config_.stride_w, h.before, w.before, h.after, w.after, config_.dilation_h,
          config_.dilation_w};
}

void Conv2D::create_variables(const Device& device, std::mt19937_64& rng) {
  const int64_t channels = input_shape()[2];
  const int64_t area = static_cast<int64_t>(config_.kernel_h) * config_.kernel_w;
  Shape kernel{config_.kernel_h, config_.kernel_w, channels, config_.filters};
  variables_.push_back({"kernel", initialize(config_.kernel_initializer, kernel, area * channels, area * config_.filters, device, rng), {}});
  if (config_.use_bias) {
    variables_.push_back({"bias", initialize(config_.bias_initializer, {config_.filters}, 0, 0, device, rng), {}});
  }
}

bool Conv2D::can_fuse_max_pool() const {
  const auto act = config_.activation;
  if (act != backends::ActivationKind::linear && act != backends::ActivationKind::relu) return false;
  return ops::backend_for(device_).fuses_conv_max_pool(params(1), compute_precision());
}

const Tensor& Conv2D::forward(const Tensor& x, bool training) {
  check_input(x);
  x_ = x;
  if (fused_max_pool_) {  // the MaxPooling2D after this layer, in the same pass
    const auto p = params(x.dim(0));
    const Shape pooled{x.dim(0), p.out_h / 2, p.out_w / 2, p.out_c};
    ops::ensure(out_, pooled, device_);
    if (training) ops::ensure(winners_, pooled, device_, DType::int32);
    ops::check_same_device("Conv2D", {&x, &variables_[0].value});
    ops::backend_of("conv2d_max_pool_forward", x)
        .conv2d_max_pool_forward(p, x, variables_[0].value, config_.use_bias ? &variables_[1].value : nullptr,
                                 config_.activation, out_, training ? &winners_ : nullptr, compute_precision());
    return out_;
  }
  ops::ensure(out_, output_shape().with_batch(x.dim(0)), device_);
  const Tensor* bias = config_.use_bias ? &variables_[1].value : nullptr;
  ops::check_same_device("Conv2D", {&x, &variables_[0].value});
  const auto precision = compute_precision();
  ops::backend_of("conv2d_forward", x)
      .conv2d_forward(params(x.dim(0)), x, variables_[0].value, bias, out_, stage_.fused(), precision,
                      ops::round_operand(x, precision, x16_), ops::round_operand(variables_[0].value, precision, kernel16_));
  return stage_.forward(out_);
}

const Tensor& Conv2D::backward(const Tensor& dy, bool need_dx) {
  if (fused_max_pool_) {
    if (need_dx) throw RuntimeError("Conv2D layer \"" + name() + "\": a fused max pooling has no input gradient");
    if (winners_.shape() != dy.shape()) {
      throw RuntimeError("Conv2D layer \"" + name() + "\": backward of a fused max pooling needs a training forward of " +
                         dy.shape().to_string() + " first");
    }
    Tensor* db = config_.use_bias ? &variables_[1].grad : nullptr;
    ops::backend_of("conv2d_max_pool_backward", dy)
        .conv2d_max_pool_backward_weights(params(dy.dim(0)), x_, winners_, dy, variables_[0].grad, db,
                                          compute_precision());
    dx_ = Tensor();
    return dx_;
  }
  return backward_from_logits(stage_.backward(dy), need_dx);
}

const Tensor& Conv2D::backward_from_logits(const Tensor& dz, bool need_dx) {
  const auto p = params(dz.dim(0));
  Tensor* db = config_.use_bias ? &variables_[1].grad : nullptr;
  auto& backend = ops::backend_of("conv2d_backward", dz);
  const auto precision = compute_precision();
  const backends::RoundedOperand* dz16 = ops::round_operand(dz, precision, dz16_);
  backend.conv2d_backward_weights(p, x_, dz, variables_[0].grad, db, precision, &x16_, dz16);
  if (!need_dx) {
    dx_ = Tensor();
    return dx_;
  }
  ops::ensure(dx_, x_.shape(), device_);
  backend.conv2d_backward_data(p, dz, variables_[0].value, dx_, precision, dz16, &kernel16_);
  return dx_;
}

}  // namespace kerosene::nn
