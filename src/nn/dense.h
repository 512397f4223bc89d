#pragma once

#include "nn/activations.h"
#include "nn/layer.h"

namespace kerosene::nn {

/// Dense: y = activation(x @ kernel + bias), on the last axis. kernel is (in, units).
class Dense final : public Layer {
 public:
  struct Config {
    int64_t units;
    backends::ActivationKind activation;
    bool use_bias;
    std::string kernel_initializer, bias_initializer;
  };
  Dense(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<Dense>(config_, name()); }
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
  Tensor x2d_, out_, dx_buffer_, dx_;  // dx_ is a view of dx_buffer_
  // Under a 16-bit policy: the input and kernel rounded at forward, for backward's products too,
  // and the logits' gradient rounded once for both of backward's products.
  backends::RoundedOperand x16_, kernel16_, dz16_;
};

}  // namespace kerosene::nn
