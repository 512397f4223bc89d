// The element-wise activations by kind, forward and derivative of one element, for the CPU and
// CUDA kernels alike: one dispatch over math/activations.h, so the backends cannot disagree on
// which formula or which parameter a kind uses. (linear and softmax are no per-element maps.)
#pragma once

#include <type_traits>

#include "backends/kernel_params.h"
#include "math/activations.h"

namespace kerosene::backends {

template <ActivationKind K>
KEROSENE_HD float activate(float x, [[maybe_unused]] const ActivationParams& a) {
  if constexpr (K == ActivationKind::relu) return math::relu_with(x, a.negative_slope, a.max_value, a.threshold);
  else if constexpr (K == ActivationKind::sigmoid) return math::sigmoid(x);
  else if constexpr (K == ActivationKind::tanh) return math::tanh_act(x);
  else if constexpr (K == ActivationKind::gelu) return math::gelu(x);
  else if constexpr (K == ActivationKind::silu) return math::silu(x);
  else if constexpr (K == ActivationKind::elu) return math::elu(x, 1.0f);
  else if constexpr (K == ActivationKind::selu) return math::selu(x);
  else if constexpr (K == ActivationKind::leaky_relu) return math::leaky_relu(x, a.negative_slope);
  else if constexpr (K == ActivationKind::softplus) return math::softplus(x);
  else if constexpr (K == ActivationKind::hard_sigmoid) return math::hard_sigmoid(x);
  else return x;
}

/// The derivative at one element, from the input x when backward_reads_input(K), else from the
/// output y: `v` is whichever of the two that is.
template <ActivationKind K>
KEROSENE_HD float activation_derivative(float v, [[maybe_unused]] const ActivationParams& a) {
  if constexpr (K == ActivationKind::relu) return math::relu_with_grad_from_output(v, a.negative_slope, a.max_value);
  else if constexpr (K == ActivationKind::sigmoid) return math::sigmoid_grad_from_output(v);
  else if constexpr (K == ActivationKind::tanh) return math::tanh_grad_from_output(v);
  else if constexpr (K == ActivationKind::gelu) return math::gelu_grad(v);
  else if constexpr (K == ActivationKind::silu) return math::silu_grad(v);
  else if constexpr (K == ActivationKind::elu) return math::elu_grad_from_output(v, 1.0f);
  else if constexpr (K == ActivationKind::selu) return math::selu_grad_from_output(v);
  else if constexpr (K == ActivationKind::leaky_relu) return math::leaky_relu_grad_from_output(v, a.negative_slope);
  else if constexpr (K == ActivationKind::softplus) return math::softplus_grad_from_output(v);
  else if constexpr (K == ActivationKind::hard_sigmoid) return math::hard_sigmoid_grad_from_output(v);
  else return 1.0f;
}

template <ActivationKind K>
using KindTag = std::integral_constant<ActivationKind, K>;

/// Calls f(KindTag<kind>{}) for an element-wise kind and returns true; false for linear and
/// softmax, which each backend handles itself. Host code: it picks the kernel to run.
template <typename F>
bool visit_elementwise(ActivationKind kind, F&& f) {
  using K = ActivationKind;
  switch (kind) {
    case K::relu: f(KindTag<K::relu>{}); return true;
    case K::sigmoid: f(KindTag<K::sigmoid>{}); return true;
    case K::tanh: f(KindTag<K::tanh>{}); return true;
    case K::gelu: f(KindTag<K::gelu>{}); return true;
    case K::silu: f(KindTag<K::silu>{}); return true;
    case K::elu: f(KindTag<K::elu>{}); return true;
    case K::selu: f(KindTag<K::selu>{}); return true;
    case K::leaky_relu: f(KindTag<K::leaky_relu>{}); return true;
    case K::softplus: f(KindTag<K::softplus>{}); return true;
    case K::hard_sigmoid: f(KindTag<K::hard_sigmoid>{}); return true;
    case K::linear:
    case K::softmax: return false;
  }
  return false;
}

}  // namespace kerosene::backends
