// BatchNormalization and LayerNormalization (Keras 3), over the last axis only.
#pragma once

#include "nn/cross_replica_sum.h"
#include "nn/layer.h"

namespace kerosene::nn {

/// Training: normalizes each channel (last axis) with the batch's mean and biased variance over
/// every other axis, and updates moving_mean / moving_variance (non-trainable variables) as
/// Keras 3 does; inference: normalizes with the moving statistics. Variables in Keras' order:
/// gamma (scale), beta (center), moving_mean, moving_variance.
///
/// synchronized (Keras' option): under a distribution strategy, training uses the statistics of
/// the global batch, every replica's and worker's rows together, and its backward is the exact
/// gradient of that normalization; the moving statistics, updated from them, stay identical on
/// every replica. Without a strategy it changes nothing.
class BatchNormalization final : public Layer {
 public:
  struct Config {
    int64_t axis = -1;  // Keras counts the batch axis: the last of a rank-4 input is -1 or 3
    double momentum = 0.99, epsilon = 1e-3;
    bool center = true, scale = true;
    std::string beta_initializer = "zeros", gamma_initializer = "ones";
    std::string moving_mean_initializer = "zeros", moving_variance_initializer = "ones";
    bool synchronized = false;
  };
  BatchNormalization(const Config& config, std::string name);
  std::shared_ptr<Layer> clone() const override { return std::make_shared<BatchNormalization>(config_, name()); }
  const Config& config() const { return config_; }

  bool mixes_samples() const override { return true; }
  /// Not synchronized (whose statistics come across replicas, a path without the fused ReLU).
  bool can_fuse_relu() const override;
  Shape compute_output_shape(const Shape& input) const override;
  const Tensor& forward(const Tensor& x, bool training) override;
  const Tensor& backward(const Tensor& dy, bool need_dx) override;

  void set_cross_replica_sum(std::shared_ptr<CrossReplicaSum> sum) override;
  void forward_without_rows() override;
  void backward_without_rows() override;

 private:
  void create_variables(const Device& device, std::mt19937_64& rng) override;
  backends::BatchNormParams params(int64_t rows, bool training) const;
  /// The statistics of batch_sums_ (all-reduced) into mean_ and inv_std_ and the moving
  /// statistics; y from x when given (a replica with no rows gives neither).
  void forward_from_global_sums(const Tensor* x, int64_t rows);
  /// grad_sums_ = [sum dy, sum dy * x_hat] of this replica (dbeta, dgamma), all-reduced.
  void sum_gradients_across_replicas(const Tensor& dbeta, const Tensor& dgamma);

  Config config_;
  bool training_ = false;  // the mode of the last forward, which backward differentiates
  bool synced_ = false;    // whether the last forward used the global batch's statistics
  bool relu_ = false;      // whether the last forward ended with a fused ReLU
  std::shared_ptr<CrossReplicaSum> cross_replica_;
  Tensor x_, out_, mean_, inv_std_, dx_;
  Tensor dgamma_, dbeta_;  // the kernel's sums when there is no gamma / beta to hold them
  Tensor batch_sums_, grad_sums_;  // synchronized: what is summed across replicas
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
