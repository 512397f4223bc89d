// Activation names (Keras') and the stage that applies one after a layer's main op.
#pragma once

#include <string>

#include "backends/backend.h"
#include "kerosene/tensor.h"

namespace kerosene::nn {

/// "relu", "sigmoid", "tanh", "softmax", "linear" (also "" and "none"). Throws ValueError listing them.
backends::ActivationKind parse_activation(const std::string& name);
std::string activation_name(backends::ActivationKind kind);

/// Applies an activation after a layer's op. linear and relu are fused into the op itself
/// (oneDNN/cuDNN post-ops), so the op writes the final output directly.
class ActivationStage {
 public:
  explicit ActivationStage(backends::ActivationKind kind) : kind_(kind) {}
  backends::ActivationKind kind() const { return kind_; }
  /// What the op should apply itself.
  backends::ActivationKind fused() const;
  /// Given what the op wrote, returns the layer's output.
  const Tensor& forward(const Tensor& op_output);
  /// Gradient w.r.t. the op's output, from the gradient w.r.t. the layer's output.
  const Tensor& backward(const Tensor& dy);
  /// The op's output before the activation (valid after forward).
  const Tensor& logits() const { return z_; }

 private:
  backends::ActivationKind kind_;
  Tensor z_, y_, dz_;
};

}  // namespace kerosene::nn
