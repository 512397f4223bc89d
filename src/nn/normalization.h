// BatchNormalization and LayerNormalization (Keras 3), over the last axis only.
#pragma once

#include "nn/layer.h"

namespace kerosene::nn {

/// Training: normalizes each channel (last axis) with the batch's mean and biased variance over
/// every other axis, and updates moving_mean / moving_variance (non-trainable variables) as
/// Keras 3 does; inference: normalizes with the moving statistics. Variables in Keras' order:
/// gamma (scale), beta (center), moving_mean, moving_variance.
class BatchNormalization final : public Layer {
 public:
  struct Config {
    int64_t axis = -1;  // Keras counts the batch axis: the last of a rank-4 input is -1 or 3
    double momentum = 0.99, epsilon = 1e-3;
    bool center = true, scale = true;
    std::string beta_initializer = "zeros", gamma_initializer = "ones";
    std::string moving_mean_initializer = "zeros", moving_variance_initializer = "ones";
  };
  BatchNormalization(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<BatchNormalization>(config_, name()); }
  const Config& config() const { return config_; }

  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  void create_variables(const Device& device, std::mt19937_64& rng) override;

  Config config_;
  bool training_ = false;  // the mode of the last forward, which backward differentiates
  Tensor x_, out_, mean_, inv_std_, dx_;
  Tensor dgamma_, dbeta_;  // the kernel's sums when there is no gamma / beta to hold them
};

/// Normalizes each sample over its last axis, then scales by gamma and shifts by beta (both of
/// the last axis' size). The same in training and inference.
class LayerNormalization final : public Layer {
 public:
  struct Config {
    int64_t axis = -1;
    double epsilon = 1e-3;
    bool center = true, scale = true;
    std::string beta_initializer = "zeros", gamma_initializer = "ones";
  };
  LayerNormalization(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<LayerNormalization>(config_, name()); }
  const Config& config() const { return config_; }

  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

 private:
  void create_variables(const Device& device, std::mt19937_64& rng) override;

  Config config_;
  Tensor x_, out_, mean_, inv_std_, dx_;
};

}  // namespace kerosene::nn
