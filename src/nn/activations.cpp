#include "nn/activations.h"

#include "kerosene/error.h"
#include "ops/ops.h"

namespace kerosene::nn {

using backends::ActivationKind;

ActivationKind parse_activation(const std::string& name) {
  if (name.empty() || name == "linear" || name == "none") return ActivationKind::linear;
  if (name == "relu") return ActivationKind::relu;
  if (name == "sigmoid") return ActivationKind::sigmoid;
  if (name == "tanh") return ActivationKind::tanh;
  if (name == "softmax") return ActivationKind::softmax;
  throw ValueError("unknown activation \"" + name + "\"; expected relu, sigmoid, tanh, softmax or linear");
}

std::string activation_name(ActivationKind kind) {
  switch (kind) {
    case ActivationKind::linear: return "linear";
    case ActivationKind::relu: return "relu";
    case ActivationKind::sigmoid: return "sigmoid";
    case ActivationKind::tanh: return "tanh";
    case ActivationKind::softmax: return "softmax";
  }
  return "linear";
}

ActivationKind ActivationStage::fused() const {
  return kind_ == ActivationKind::relu ? ActivationKind::relu : ActivationKind::linear;
}

const Tensor& ActivationStage::forward(const Tensor& op_output) {
  z_ = op_output;
  if (kind_ == ActivationKind::linear || kind_ == ActivationKind::relu) return z_;
  ops::ensure(y_, z_.shape(), z_.device());
  ops::backend_of("activation_forward", z_).activation_forward(kind_, z_, y_);
  return y_;
}

const Tensor& ActivationStage::backward(const Tensor& dy) {
  if (kind_ == ActivationKind::linear) return dy;
  ops::ensure(dz_, dy.shape(), dy.device());
  const Tensor& y = kind_ == ActivationKind::relu ? z_ : y_;
  ops::backend_of("activation_backward", dy).activation_backward(kind_, y, dy, dz_);
  return dz_;
}

}  // namespace kerosene::nn
