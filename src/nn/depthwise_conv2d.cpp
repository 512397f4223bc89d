#include "nn/depthwise_conv2d.h"

#include "kerosene/error.h"
#include "nn/conv2d.h"
#include "nn/initializers.h"
#include "ops/ops.h"

namespace kerosene::nn {
namespace {

std::string pair_text(int64_t a, int64_t b) { return "(" + std::to_string(a) + ", " + std::to_string(b) + ")"; }

}  // namespace

// --- DepthwiseWindow -----------------------------------------------------------------------------

void DepthwiseWindow::validate(const std::string& class_name, const std::string& layer_name) const {
  const std::string who = class_name + " layer \"" + layer_name + "\": ";
  if (kernel_h <= 0 || kernel_w <= 0) {
    throw ValueError(who + "kernel_size must be positive, got " + pair_text(kernel_h, kernel_w));
  }
  if (stride_h <= 0 || stride_w <= 0) throw ValueError(who + "strides must be positive, got " + pair_text(stride_h, stride_w));
  if (dilation_h <= 0 || dilation_w <= 0) {
    throw ValueError(who + "dilation_rate must be positive, got " + pair_text(dilation_h, dilation_w));
  }
  if (depth_multiplier <= 0) {
    throw ValueError(who + "depth_multiplier must be positive, got " + std::to_string(depth_multiplier));
  }
  // As Conv2D: not every Keras backend implements the combination, so kerosene writes no model
  // that some Keras cannot run.
  if ((stride_h > 1 || stride_w > 1) && (dilation_h > 1 || dilation_w > 1)) {
    throw ValueError(who + "strides > 1 are not supported together with dilation_rate > 1 (as in Keras); got strides " +
                     pair_text(stride_h, stride_w) + " and dilation_rate " + pair_text(dilation_h, dilation_w));
  }
  if (padding != "valid" && padding != "same") {
    throw ValueError(who + "unknown padding \"" + padding + "\"; expected \"valid\" or \"same\"");
  }
}

Shape DepthwiseWindow::output_shape(const std::string& class_name, const std::string& layer_name,
                                    const Shape& input) const {
  const std::string who = class_name + " layer \"" + layer_name + "\"";
  if (input.rank() != 3) {
    throw ValueError(who + " expects inputs of shape (height, width, channels) per sample, found " + input.to_string() +
                     "; add a channels dimension, e.g. Input({28, 28, 1})");
  }
  const auto p = params(input, 1);
  if (p.out_h <= 0 || p.out_w <= 0) {
    const int64_t span_h = (kernel_h - 1) * int64_t{dilation_h} + 1, span_w = (kernel_w - 1) * int64_t{dilation_w} + 1;
    const bool dilated = dilation_h > 1 || dilation_w > 1;
    throw ValueError(who + ": a " + std::to_string(kernel_h) + "x" + std::to_string(kernel_w) + " kernel" +
                     (dilated ? " dilated to " + std::to_string(span_h) + "x" + std::to_string(span_w) : "") +
                     " does not fit an input of " + input.to_string() + " with padding \"" + padding + "\"");
  }
  return {p.out_h, p.out_w, p.out_c};
}

backends::Conv2DParams DepthwiseWindow::params(const Shape& input, int64_t batch) const {
  // The window a dilated kernel covers, as Conv2D computes it.
  const int64_t span_h = (kernel_h - 1) * int64_t{dilation_h} + 1, span_w = (kernel_w - 1) * int64_t{dilation_w} + 1;
  const auto h = compute_padding(padding, input[0], span_h, stride_h);
  const auto w = compute_padding(padding, input[1], span_w, stride_w);
  backends::Conv2DParams p{batch, input[0], input[1], input[2], h.out, w.out, input[2] * depth_multiplier,
                           kernel_h, kernel_w, stride_h, stride_w, h.before, w.before, h.after, w.after,
                           dilation_h, dilation_w};
  p.groups = input[2];
  return p;
}

// --- DepthwiseConv2D -----------------------------------------------------------------------------

DepthwiseConv2D::DepthwiseConv2D(const Config& config, std::string name)
    : Layer("DepthwiseConv2D", std::move(name)), config_(config), stage_(config.activation) {
  config.window.validate(class_name(), this->name());
}

Shape DepthwiseConv2D::compute_output_shape(const Shape& input) const {
  return config_.window.output_shape(class_name(), name(), input);
}

void DepthwiseConv2D::create_variables(const Device& device, std::mt19937_64& rng) {
  const auto& w = config_.window;
  const int64_t channels = input_shape()[2], area = int64_t{w.kernel_h} * w.kernel_w;
  // Keras' fans of a (kh, kw, in, out) kernel: the receptive field times in (out).
  Shape kernel{w.kernel_h, w.kernel_w, channels, w.depth_multiplier};
  variables_.push_back({"kernel", initialize(config_.depthwise_initializer, kernel, area * channels,
                                             area * w.depth_multiplier, device, rng), {}});
  if (config_.use_bias) {
    variables_.push_back({"bias", initialize(config_.bias_initializer, {channels * w.depth_multiplier}, 0, 0, device, rng), {}});
  }
}

const Tensor& DepthwiseConv2D::forward(const Tensor& x, bool training) {
  check_input(x);
  x_ = x;
  ops::ensure(out_, output_shape().with_batch(x.dim(0)), device_);
  const Tensor* bias = config_.use_bias ? &variables_[1].value : nullptr;
  ops::check_same_device("DepthwiseConv2D", {&x, &variables_[0].value});
  ops::backend_of("depthwise_conv2d_forward", x)
      .conv2d_forward(config_.window.params(input_shape(), x.dim(0)), x, variables_[0].value, bias, out_, stage_.fused());
  return stage_.forward(out_);
}

const Tensor& DepthwiseConv2D::backward(const Tensor& dy, bool need_dx) {
  return backward_from_logits(stage_.backward(dy), need_dx);
}

const Tensor& DepthwiseConv2D::backward_from_logits(const Tensor& dz, bool need_dx) {
  const auto p = config_.window.params(input_shape(), dz.dim(0));
  Tensor* db = config_.use_bias ? &variables_[1].grad : nullptr;
  auto& backend = ops::backend_of("depthwise_conv2d_backward", dz);
  backend.conv2d_backward_weights(p, x_, dz, variables_[0].grad, db);
  if (!need_dx) {
    dx_ = Tensor();
    return dx_;
  }
  ops::ensure(dx_, x_.shape(), device_);
  backend.conv2d_backward_data(p, dz, variables_[0].value, dx_);
  return dx_;
}

// --- SeparableConv2D -----------------------------------------------------------------------------

SeparableConv2D::SeparableConv2D(const Config& config, std::string name)
    : Layer("SeparableConv2D", std::move(name)), config_(config), stage_(config.activation) {
  if (config.filters <= 0) {
    throw ValueError("SeparableConv2D layer \"" + this->name() + "\": filters must be positive, got " +
                     std::to_string(config.filters));
  }
  config.window.validate(class_name(), this->name());
}

Shape SeparableConv2D::compute_output_shape(const Shape& input) const {
  const Shape depthwise = config_.window.output_shape(class_name(), name(), input);
  return {depthwise[0], depthwise[1], config_.filters};
}

backends::Conv2DParams SeparableConv2D::pointwise_params(const backends::Conv2DParams& d) const {
  return {d.batch, d.out_h, d.out_w, d.out_c, d.out_h, d.out_w, config_.filters, 1, 1, 1, 1, 0, 0, 0, 0};
}

void SeparableConv2D::create_variables(const Device& device, std::mt19937_64& rng) {
  const auto& w = config_.window;
  const int64_t channels = input_shape()[2], area = int64_t{w.kernel_h} * w.kernel_w;
  const int64_t mid_channels = channels * w.depth_multiplier;
  Shape depthwise{w.kernel_h, w.kernel_w, channels, w.depth_multiplier};
  variables_.push_back({"depthwise_kernel", initialize(config_.depthwise_initializer, depthwise, area * channels,
                                                       area * w.depth_multiplier, device, rng), {}});
  Shape pointwise{1, 1, mid_channels, config_.filters};
  variables_.push_back({"pointwise_kernel", initialize(config_.pointwise_initializer, pointwise, mid_channels,
                                                       config_.filters, device, rng), {}});
  if (config_.use_bias) {
    variables_.push_back({"bias", initialize(config_.bias_initializer, {config_.filters}, 0, 0, device, rng), {}});
  }
}

const Tensor& SeparableConv2D::forward(const Tensor& x, bool training) {
  check_input(x);
  x_ = x;
  const auto depthwise = config_.window.params(input_shape(), x.dim(0));
  const auto pointwise = pointwise_params(depthwise);
  ops::ensure(mid_, Shape{depthwise.batch, depthwise.out_h, depthwise.out_w, depthwise.out_c}, device_);
  ops::ensure(out_, output_shape().with_batch(x.dim(0)), device_);
  ops::check_same_device("SeparableConv2D", {&x, &variables_[0].value});
  auto& backend = ops::backend_of("separable_conv2d_forward", x);
  backend.conv2d_forward(depthwise, x, variables_[0].value, nullptr, mid_, backends::ActivationKind::linear);
  const Tensor* bias = config_.use_bias ? &variables_[2].value : nullptr;
  backend.conv2d_forward(pointwise, mid_, variables_[1].value, bias, out_, stage_.fused());
  return stage_.forward(out_);
}

const Tensor& SeparableConv2D::backward(const Tensor& dy, bool need_dx) {
  return backward_from_logits(stage_.backward(dy), need_dx);
}

const Tensor& SeparableConv2D::backward_from_logits(const Tensor& dz, bool need_dx) {
  const auto depthwise = config_.window.params(input_shape(), dz.dim(0));
  const auto pointwise = pointwise_params(depthwise);
  Tensor* db = config_.use_bias ? &variables_[2].grad : nullptr;
  auto& backend = ops::backend_of("separable_conv2d_backward", dz);
  backend.conv2d_backward_weights(pointwise, mid_, dz, variables_[1].grad, db);
  ops::ensure(dmid_, mid_.shape(), device_);
  backend.conv2d_backward_data(pointwise, dz, variables_[1].value, dmid_);
  backend.conv2d_backward_weights(depthwise, x_, dmid_, variables_[0].grad, nullptr);
  if (!need_dx) {
    dx_ = Tensor();
    return dx_;
  }
  ops::ensure(dx_, x_.shape(), device_);
  backend.conv2d_backward_data(depthwise, dmid_, variables_[0].value, dx_);
  return dx_;
}

}  // namespace kerosene::nn
