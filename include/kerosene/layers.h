// Keras layers, with Keras' names, arguments and defaults.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kerosene/shape.h"
#include "kerosene/tensor.h"

namespace kerosene {

namespace nn {
class Layer;  // the implementation, in src/nn
}

/// A handle to one layer of a model. Built by the functions in kerosene::layers.
class Layer {
 public:
  explicit Layer(std::shared_ptr<nn::Layer> impl) : impl_(std::move(impl)) {}
  const std::string& name() const;
  std::string class_name() const;
  /// Output shape without the batch dimension (known once the model is built).
  Shape output_shape() const;
  int64_t count_params() const;
  /// The layer's variables (kernel, bias; BatchNormalization's moving statistics too) in Keras'
  /// order and layout.
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& weights);
  const std::shared_ptr<nn::Layer>& impl() const { return impl_; }

 private:
  std::shared_ptr<nn::Layer> impl_;
};

namespace layers {

/// Declares the shape of one sample (without the batch dimension).
Layer Input(const Shape& shape, const std::string& name = "");

struct DenseOptions {
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string name = {};
};
Layer Dense(int64_t units, const std::string& activation = "linear");
Layer Dense(int64_t units, const DenseOptions& options);

struct Conv2DOptions {
  std::pair<int, int> strides = {1, 1};
  std::string padding = "valid";  ///< "valid" or "same"
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string name = {};
};
/// Channels-last (NHWC) like Keras' default; the kernel is (kh, kw, in, out).
Layer Conv2D(int64_t filters, std::pair<int, int> kernel_size, const std::string& activation = "linear");
Layer Conv2D(int64_t filters, std::pair<int, int> kernel_size, const Conv2DOptions& options);

struct Pooling2DOptions {
  std::optional<std::pair<int, int>> strides;  ///< default: the pool size
  std::string padding = "valid";
  std::string name = {};
};
Layer MaxPooling2D(std::pair<int, int> pool_size = {2, 2}, const Pooling2DOptions& options = {});
Layer AveragePooling2D(std::pair<int, int> pool_size = {2, 2}, const Pooling2DOptions& options = {});

Layer Flatten(const std::string& name = "");
/// Drops `rate` of the inputs during training and scales the rest by 1 / (1 - rate).
Layer Dropout(float rate, std::optional<uint64_t> seed = std::nullopt, const std::string& name = "");
Layer Activation(const std::string& activation, const std::string& name = "");
/// Target shape without the batch dimension; one entry may be -1.
Layer Reshape(const Shape& target_shape, const std::string& name = "");

struct BatchNormalizationOptions {
  int axis = -1;  ///< the last axis only (channels last); Keras counts the batch axis
  double momentum = 0.99;
  double epsilon = 1e-3;
  bool center = true;  ///< add beta
  bool scale = true;   ///< multiply by gamma
  std::string beta_initializer = "zeros";
  std::string gamma_initializer = "ones";
  std::string moving_mean_initializer = "zeros";
  std::string moving_variance_initializer = "ones";
  std::string name = {};
};
/// Normalizes each channel with the batch's statistics in training (fit), updating the moving
/// mean and variance (non-trainable weights), and with those in inference (evaluate, predict).
/// Weights in Keras' order: gamma, beta, moving_mean, moving_variance.
Layer BatchNormalization(const BatchNormalizationOptions& options = {});

struct LayerNormalizationOptions {
  int axis = -1;  ///< the last axis only
  double epsilon = 1e-3;
  bool center = true;
  bool scale = true;
  std::string beta_initializer = "zeros";
  std::string gamma_initializer = "ones";
  std::string name = {};
};
/// Normalizes each sample over its last axis; weights gamma, beta.
Layer LayerNormalization(const LayerNormalizationOptions& options = {});

}  // namespace layers
}  // namespace kerosene
