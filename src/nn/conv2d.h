#pragma once

#include "nn/activations.h"
#include "nn/layer.h"

namespace kerosene::nn {

/// Keras' padding arithmetic: output size and the padding before/after ("valid" or "same").
struct Padding1D {
  int64_t out, before, after;
};
Padding1D compute_padding(const std::string& padding, int64_t in, int64_t kernel, int64_t stride);

/// Conv2D, channels last: x (N, H, W, C), kernel (kh, kw, C, filters), bias (filters).
class Conv2D final : public Layer {
 public:
  struct Config {
    int64_t filters;
    int kernel_h, kernel_w, stride_h, stride_w;
    std::string padding;
    backends::ActivationKind activation;
    bool use_bias;
    std::string kernel_initializer, bias_initializer;
    int dilation_h = 1, dilation_w = 1;  ///< Keras' dilation_rate; not with strides above 1 (as Keras)
  };
  Conv2D(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Conv2D>(config_, name()); }
  const Config& config() const { return config_; }

  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;
  backends::ActivationKind activation() const override { return config_.activation; }
  const Tensor& logits() const override { return stage_.logits(); }
  const Tensor& backward_from_logits(const Tensor& dlogits, bool need_dx) override;
  bool can_fuse_max_pool() const override;

 private:
  void create_variables(const Device& device, std::mt19937_64& rng) override;
  backends::Conv2DParams params(int64_t batch) const;
  /// The input rows (columns) one output pixel sees: the kernel with its dilation's gaps.
  int64_t span_h() const { return (config_.kernel_h - 1) * int64_t{config_.dilation_h} + 1; }
  int64_t span_w() const { return (config_.kernel_w - 1) * int64_t{config_.dilation_w} + 1; }

  Config config_;
  ActivationStage stage_;
  Tensor x_, out_, dx_;
  Tensor winners_;  // with a fused max pooling, in training: which pixel of each window won
  // Under a 16-bit policy (unfused): the input and kernel rounded at forward, for backward's
  // products too, and the output's gradient rounded once for both of backward's products.
  backends::RoundedOperand x16_, kernel16_, dz16_;
};

}  // namespace kerosene::nn
