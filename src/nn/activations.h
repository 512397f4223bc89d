// Activation names (Keras') and the stage that applies one after a layer's main op.
#pragma once

#include <string>

#include "backends/backend.h"
#include "kerosene/tensor.h"

namespace kerosene::nn {

/// A Keras activation name: linear (also "" and "none"), relu, sigmoid, tanh, softmax, gelu,
/// silu (also "swish"), elu, selu, leaky_relu, softplus, hard_sigmoid. Throws ValueError
/// listing them.
backends::ActivationKind parse_activation(const std::string& name);
/// The name Keras 3 writes ("silu" for swish too).
std::string activation_name(backends::ActivationKind kind);
/// The names parse_activation takes, for messages: "linear, relu, ...".
std::string activation_names();
/// An activation named by a string: Keras' function defaults (leaky_relu's slope 0.2).
backends::ActivationParams activation_params(backends::ActivationKind kind);

/// Applies an activation after a layer's op. linear and plain relu are fused into the op itself
/// (oneDNN/cuDNN post-ops), so the op writes the final output directly.
class ActivationStage {
 public:
  explicit ActivationStage(const backends::ActivationParams& params) : params_(params) {}
  explicit ActivationStage(backends::ActivationKind kind) : params_(activation_params(kind)) {}
  backends::ActivationKind kind() const { return params_.kind; }
  const backends::ActivationParams& params() const { return params_; }
  /// What the op should apply itself.
  backends::ActivationKind fused() const;
  /// Given what the op wrote, returns the layer's output.
  const Tensor& forward(const Tensor& op_output);
  /// Gradient w.r.t. the op's output, from the gradient w.r.t. the layer's output.
  const Tensor& backward(const Tensor& dy);
  /// The op's output before the activation (valid after forward).
  const Tensor& logits() const { return z_; }

 private:
  backends::ActivationParams params_;
  Tensor z_, y_, dz_;
};

}  // namespace kerosene::nn
