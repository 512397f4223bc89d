#include "nn/activations.h"

#include "kerosene/error.h"
#include "ops/ops.h"

namespace kerosene::nn {

using backends::ActivationKind;

namespace {

struct Named {
  const char* name;
  ActivationKind kind;
};
// Keras 3's names; activation_name writes the first entry of a kind.
constexpr Named kNames[] = {
    {"linear", ActivationKind::linear},   {"relu", ActivationKind::relu},
    {"sigmoid", ActivationKind::sigmoid}, {"tanh", ActivationKind::tanh},
    {"softmax", ActivationKind::softmax}, {"gelu", ActivationKind::gelu},
    {"silu", ActivationKind::silu},       {"elu", ActivationKind::elu},
    {"selu", ActivationKind::selu},       {"leaky_relu", ActivationKind::leaky_relu},
    {"softplus", ActivationKind::softplus}, {"hard_sigmoid", ActivationKind::hard_sigmoid},
    // Aliases Keras also accepts (keras.activations.get).
    {"swish", ActivationKind::silu},      {"none", ActivationKind::linear},
    {"", ActivationKind::linear},
};

}  // namespace

ActivationKind parse_activation(const std::string& name) {
  for (const Named& n : kNames) {
    if (name == n.name) return n.kind;
  }
  throw ValueError("unknown activation \"" + name + "\"; expected one of " + activation_names());
}

std::string activation_name(ActivationKind kind) {
  for (const Named& n : kNames) {
    if (n.kind == kind) return n.name;
  }
  return "linear";
}

std::string activation_names() {
  std::string out;
  for (const Named& n : kNames) {
    if (!*n.name || std::string(n.name) == "none") continue;
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

backends::ActivationParams activation_params(ActivationKind kind) {
  backends::ActivationParams p;
  p.kind = kind;
  if (kind == ActivationKind::leaky_relu) p.negative_slope = 0.2f;  // keras.activations.leaky_relu
  return p;
}

ActivationKind ActivationStage::fused() const {
  return backends::is_plain_relu(params_) ? ActivationKind::relu : ActivationKind::linear;
}

const Tensor& ActivationStage::forward(const Tensor& op_output) {
  z_ = op_output;
  if (params_.kind == ActivationKind::linear || fused() == ActivationKind::relu) return z_;
  ops::ensure(y_, z_.shape(), z_.device());
  ops::backend_of("activation_forward", z_).activation_forward(params_, z_, y_);
  return y_;
}

const Tensor& ActivationStage::backward(const Tensor& dy) {
  if (params_.kind == ActivationKind::linear) return dy;
  ops::ensure(dz_, dy.shape(), dy.device());
  // A fused relu's op wrote the output itself: z_ is y, and relu's backward reads y alone.
  const Tensor& y = fused() == ActivationKind::relu ? z_ : y_;
  ops::backend_of("activation_backward", dy).activation_backward(params_, z_, y, dy, dz_);
  return dz_;
}

}  // namespace kerosene::nn
