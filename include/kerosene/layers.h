// Keras layers, with Keras' names, arguments and defaults.
#pragma once

#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kerosene/mixed_precision.h"
#include "kerosene/shape.h"
#include "kerosene/tensor.h"

namespace kerosene {

namespace nn {
class Layer;  // the implementation, in src/nn
}
namespace train {
struct SymbolicTensor;  // src/train/symbolic_tensor.h
}

/// A symbolic tensor of the Functional API: what kerosene::Input returns and what calling a
/// layer on symbolic tensors returns. It holds no data, only its shape and how it is computed.
class KerasTensor {
 public:
  explicit KerasTensor(std::shared_ptr<train::SymbolicTensor> node) : node_(std::move(node)) {}
  /// Shape of one sample (without the batch dimension).
  const Shape& shape() const;
  /// "keras_tensor_3", or the Input's name.
  const std::string& name() const;
  const std::shared_ptr<train::SymbolicTensor>& node() const { return node_; }

 private:
  std::shared_ptr<train::SymbolicTensor> node_;
};

/// A model input of one sample's `shape` (keras.Input); call layers on it, then make a Model.
KerasTensor Input(const Shape& shape, const std::string& name = "");

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

  /// Calls the layer on symbolic tensors (the Functional API). A layer called more than once
  /// shares its weights between the calls. Throws ValueError naming the layer and the shapes
  /// when the inputs do not fit.
  KerasTensor operator()(const KerasTensor& input) const;
  /// For the merge layers (Add, Concatenate, ...), which take several inputs.
  KerasTensor operator()(const std::vector<KerasTensor>& inputs) const;

  /// Keras' layer.trainable: a layer that is not trainable keeps its weights in fit (transfer
  /// learning), and summary counts them as non-trainable.
  bool trainable() const;
  void set_trainable(bool trainable);

  /// Keras' layer.dtype_policy: the global policy when the layer was made, or its options'
  /// dtype (mixed_precision.h says what each policy computes in).
  mixed_precision::DTypePolicy dtype_policy() const;
  /// Keras' `layer.dtype_policy = ...`: what the layer computes in from its next step on.
  void set_dtype_policy(const mixed_precision::DTypePolicy& policy);

 private:
  std::shared_ptr<nn::Layer> impl_;
};

namespace layers {

/// Declares the shape of one sample (without the batch dimension).
Layer Input(const Shape& shape, const std::string& name = "");

/// A height and a width, where Keras takes "an int or a tuple of 2 ints" (kernel_size,
/// strides, dilation_rate, pool_size, size): 3 means {3, 3}. A std::pair<int, int> converts to
/// it, and .first / .second read it, as when these arguments were pairs.
struct Size2D : std::pair<int, int> {
  Size2D(int both) : std::pair<int, int>(both, both) {}  // NOLINT: implicit, as Keras' int
  Size2D(int height, int width) : std::pair<int, int>(height, width) {}
  Size2D(const std::pair<int, int>& hw) : std::pair<int, int>(hw) {}  // NOLINT
};

/// The rows and columns ZeroPadding2D adds or Cropping2D removes, as Keras takes them: one int
/// for every side, {h, w} for top and bottom (h each) and left and right (w each), or
/// {{top, bottom}, {left, right}}.
struct Margins2D {
  int top, bottom, left, right;
  Margins2D(int all) : top(all), bottom(all), left(all), right(all) {}  // NOLINT
  Margins2D(int height, int width) : top(height), bottom(height), left(width), right(width) {}
  Margins2D(std::pair<int, int> height, std::pair<int, int> width)
      : top(height.first), bottom(height.second), left(width.first), right(width.second) {}
};

struct DenseOptions {
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string name = {};
  /// A dtype policy name ("mixed_bfloat16", as Keras' dtype=); empty: the global policy.
  std::string dtype = {};
};
/// Dense(10, "relu"), or with options written inline: Dense(10, {.activation = "softmax",
/// .use_bias = false}). (The activation overload is a template, which a braced list cannot
/// match, so such a list always means the options.)
Layer Dense(int64_t units, const DenseOptions& options = {});
template <typename Activation>
  requires std::convertible_to<const Activation&, std::string>
Layer Dense(int64_t units, const Activation& activation) {
  return Dense(units, DenseOptions{.activation = std::string(activation)});
}

struct Conv2DOptions {
  Size2D strides = 1;
  std::string padding = "valid";  ///< "valid" or "same"
  /// Kernel taps this many pixels apart (atrous convolution); above 1 only with strides 1, as
  /// in Keras.
  Size2D dilation_rate = 1;
  std::string activation = "linear";
  bool use_bias = true;
  std::string kernel_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string name = {};
  /// A dtype policy name ("mixed_bfloat16", as Keras' dtype=); empty: the global policy.
  std::string dtype = {};
};
/// Channels-last (NHWC) like Keras' default; the kernel is (kh, kw, in, out). kernel_size is
/// an int or {kh, kw}: Conv2D(32, 3, "relu") is Conv2D(32, {3, 3}, "relu"); options inline as
/// Conv2D(32, 3, {.padding = "same", .activation = "relu"}).
Layer Conv2D(int64_t filters, Size2D kernel_size, const Conv2DOptions& options = {});
template <typename Activation>
  requires std::convertible_to<const Activation&, std::string>
Layer Conv2D(int64_t filters, Size2D kernel_size, const Activation& activation) {
  return Conv2D(filters, kernel_size, Conv2DOptions{.activation = std::string(activation)});
}

struct DepthwiseConv2DOptions {
  Size2D strides = 1;
  std::string padding = "valid";  ///< "valid" or "same"
  /// Kernels per input channel: the layer outputs channels * depth_multiplier channels, channel
  /// c * depth_multiplier + m from input channel c (Keras' order).
  int depth_multiplier = 1;
  Size2D dilation_rate = 1;  ///< above 1 only with strides 1, as Conv2D
  std::string activation = "linear";
  bool use_bias = true;
  std::string depthwise_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string name = {};
};
/// Convolves each input channel with depth_multiplier kernels of its own (no mixing of
/// channels): kernel (kh, kw, channels, depth_multiplier), bias (channels * depth_multiplier).
/// kernel_size is an int or {kh, kw}. Throws ValueError for a size, stride, dilation or
/// depth_multiplier below 1, an unknown padding, or strides and dilation both above 1.
Layer DepthwiseConv2D(Size2D kernel_size, const DepthwiseConv2DOptions& options = {});

struct SeparableConv2DOptions {
  Size2D strides = 1;
  std::string padding = "valid";  ///< "valid" or "same"
  int depth_multiplier = 1;       ///< as DepthwiseConv2D's
  Size2D dilation_rate = 1;       ///< above 1 only with strides 1
  std::string activation = "linear";
  bool use_bias = true;
  std::string depthwise_initializer = "glorot_uniform";
  std::string pointwise_initializer = "glorot_uniform";
  std::string bias_initializer = "zeros";
  std::string name = {};
};
/// A DepthwiseConv2D (strides, padding, dilation apply to it) followed by a 1x1 convolution to
/// `filters` channels, then bias and activation. Weights in Keras' order: depthwise_kernel
/// (kh, kw, channels, depth_multiplier), pointwise_kernel (1, 1, channels * depth_multiplier,
/// filters), bias (filters). Throws ValueError as DepthwiseConv2D, or for filters below 1.
Layer SeparableConv2D(int64_t filters, Size2D kernel_size, const SeparableConv2DOptions& options = {});

struct Pooling2DOptions {
  std::optional<Size2D> strides;  ///< default: the pool size
  std::string padding = "valid";
  std::string name = {};
};
/// pool_size is an int or {h, w}: MaxPooling2D(2) is MaxPooling2D({2, 2}).
Layer MaxPooling2D(Size2D pool_size = {2, 2}, const Pooling2DOptions& options = {});
Layer AveragePooling2D(Size2D pool_size = {2, 2}, const Pooling2DOptions& options = {});

/// GlobalAveragePooling2D / GlobalMaxPooling2D: each channel's mean (max) over the image,
/// (channels) per sample, or (1, 1, channels) with keepdims.
struct GlobalPooling2DOptions {
  bool keepdims = false;
  std::string name = {};
};
Layer GlobalAveragePooling2D(const GlobalPooling2DOptions& options = {});
Layer GlobalMaxPooling2D(const GlobalPooling2DOptions& options = {});

/// Adds rows and columns of zeros around each image: 1 (Keras' default) on every side, {h, w},
/// or {{top, bottom}, {left, right}}. Throws ValueError for a negative padding.
Layer ZeroPadding2D(Margins2D padding = 1, const std::string& name = "");
/// Removes rows and columns from each image's borders, given as ZeroPadding2D's padding (none
/// by default). Throws ValueError (when the model is built) if nothing of the input would remain.
Layer Cropping2D(Margins2D cropping = 0, const std::string& name = "");
/// Repeats each pixel size = {h, w} times (nearest-neighbour upsampling). Only Keras'
/// interpolation "nearest" is implemented: any other throws ValueError.
Layer UpSampling2D(Size2D size = {2, 2}, const std::string& interpolation = "nearest", const std::string& name = "");
/// x * scale + offset, element-wise: Rescaling(1.0 / 255) maps bytes to [0, 1].
Layer Rescaling(double scale, double offset = 0.0, const std::string& name = "");

Layer Flatten(const std::string& name = "");
/// Drops `rate` of the inputs during training and scales the rest by 1 / (1 - rate).
Layer Dropout(float rate, std::optional<uint64_t> seed = std::nullopt, const std::string& name = "");
/// An activation by its Keras name: linear, relu, sigmoid, tanh, softmax, gelu (exact, erf),
/// silu (or swish), elu, selu, leaky_relu (slope 0.2), softplus, hard_sigmoid (relu6(x + 3) / 6).
/// Dense and Conv2D take the same names. Throws ValueError for another name.
Layer Activation(const std::string& activation, const std::string& name = "");

/// Keras' ReLU layer: x above `threshold` (0 at or below it), clipped to `max_value`, and
/// negative_slope * (x - threshold) added below the threshold.
struct ReLUOptions {
  std::optional<float> max_value = std::nullopt;  ///< the largest output; none by default (Keras' None)
  float negative_slope = 0.0f;
  float threshold = 0.0f;
  std::string name = {};
};
/// Throws ValueError if max_value, negative_slope or threshold is negative (as Keras does).
Layer ReLU(const ReLUOptions& options = {});
/// x, or negative_slope * x below 0. The layer's default slope is Keras' 0.3 (the "leaky_relu"
/// activation's is 0.2). Throws ValueError if negative_slope is negative.
Layer LeakyReLU(float negative_slope = 0.3f, const std::string& name = "");
/// Softmax along `axis`, which counts the batch dimension as Keras' does (-1: the last). A
/// softmax along the last axis before a crossentropy loss is fused into it, as Dense's is.
/// Throws ValueError (when the model is built) if the input has no such axis.
Layer Softmax(int axis = -1, const std::string& name = "");
/// Target shape without the batch dimension; one entry may be -1.
Layer Reshape(const Shape& target_shape, const std::string& name = "");

// --- Merge layers: call them on a list of tensors of one shape (Concatenate: of shapes equal
// but along `axis`). Keras' axis counts the batch dimension: -1 is the last.
Layer Add(const std::string& name = "");
Layer Subtract(const std::string& name = "");  ///< exactly two inputs: a - b
Layer Multiply(const std::string& name = "");
Layer Average(const std::string& name = "");
Layer Maximum(const std::string& name = "");
Layer Minimum(const std::string& name = "");
Layer Concatenate(int axis = -1, const std::string& name = "");

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
  /// Under MirroredStrategy / MultiWorkerMirroredStrategy: train with the mean and variance of
  /// the global batch (every replica's and worker's rows) instead of each replica's own share.
  /// Without a strategy it changes nothing. Saved as Keras' "synchronized" (which Keras 3
  /// accepts only with its TensorFlow backend).
  bool synchronized = false;
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
