// DepthwiseConv2D and SeparableConv2D (Keras 3), channels last. Both run the depthwise part as a
// grouped convolution with one group per input channel (Conv2DParams::groups), so they share
// Conv2D's kernels on every backend instead of having kernels of their own.
#pragma once

#include <string>

#include "nn/activations.h"
#include "nn/layer.h"

namespace kerosene::nn {

/// The depthwise part both layers have: each input channel convolved with depth_multiplier
/// kernels of its own; output channel c * depth_multiplier + m (Keras' order).
struct DepthwiseWindow {
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  std::string padding = "valid";  ///< "valid" or "same"
  int64_t depth_multiplier = 1;
  int dilation_h = 1, dilation_w = 1;  ///< not above 1 together with strides above 1 (as Conv2D)

  /// Throws ValueError naming the layer for a size that is not positive, an unknown padding, or
  /// strides and dilation both above 1.
  void validate(const std::string& class_name, const std::string& layer_name) const;
  /// (out_h, out_w, channels * depth_multiplier) for one sample (h, w, channels); throws
  /// ValueError naming the layer when the input is not an image or the kernel does not fit it.
  Shape output_shape(const std::string& class_name, const std::string& layer_name, const Shape& input) const;
  /// The grouped convolution (groups = channels) on a batch of `input` (one sample's shape).
  backends::Conv2DParams params(const Shape& input, int64_t batch) const;
};

/// DepthwiseConv2D: kernel (kh, kw, channels, depth_multiplier), bias (channels * depth_multiplier).
class DepthwiseConv2D final : public Layer {
 public:
  struct Config {
    DepthwiseWindow window;
    backends::ActivationKind activation = backends::ActivationKind::linear;
    bool use_bias = true;
    std::string depthwise_initializer = "glorot_uniform", bias_initializer = "zeros";
  };
  DepthwiseConv2D(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<DepthwiseConv2D>(config_, name()); }
  const Config& config() const { return config_; }

  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  backends::ActivationKind activation() const override { return config_.activation; }
  const Tensor& logits() const override { return stage_.logits(); }
  const Tensor& backward_from_logits(const Tensor& dlogits, bool need_dx) override;

 private:
  void create_variables(const Device& device, std::mt19937_64& rng) override;

  Config config_;
  ActivationStage stage_;
  Tensor x_, out_, dx_;
};

/// SeparableConv2D: the depthwise convolution, then a pointwise (1x1) one to `filters` channels.
/// Weights in Keras' order: depthwise_kernel (kh, kw, channels, depth_multiplier),
/// pointwise_kernel (1, 1, channels * depth_multiplier, filters), bias (filters).
class SeparableConv2D final : public Layer {
 public:
  struct Config {
    int64_t filters = 1;
    DepthwiseWindow window;
    backends::ActivationKind activation = backends::ActivationKind::linear;
    bool use_bias = true;
    std::string depthwise_initializer = "glorot_uniform", pointwise_initializer = "glorot_uniform",
                bias_initializer = "zeros";
  };
  SeparableConv2D(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<SeparableConv2D>(config_, name()); }
  const Config& config() const { return config_; }

  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  backends::ActivationKind activation() const override { return config_.activation; }
  const Tensor& logits() const override { return stage_.logits(); }
  const Tensor& backward_from_logits(const Tensor& dlogits, bool need_dx) override;

 private:
  void create_variables(const Device& device, std::mt19937_64& rng) override;
  /// The pointwise convolution: 1x1, stride 1, on the depthwise part's output.
  backends::Conv2DParams pointwise_params(const backends::Conv2DParams& depthwise) const;

  Config config_;
  ActivationStage stage_;
  Tensor x_, mid_, out_, dmid_, dx_;  // mid_: the depthwise part's output
};

}  // namespace kerosene::nn
