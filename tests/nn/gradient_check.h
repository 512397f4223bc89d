// Finite-difference gradient checks of one layer (tests/nn/*_test.cpp): w.r.t. its input and
// each of its variables, on the objective sum(output * R) with a fixed random R.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/layer.h"
#include "test_util.h"

namespace kerosene::test {

using LayerPtr = std::shared_ptr<nn::Layer>;

struct CheckOptions {
  bool training = false;
  float eps = 1e-2f;
  uint64_t r_seed = 99;
  /// When set, each evaluation of the objective runs on a fresh identical layer (Dropout: its
  /// mask advances with every forward, so re-running one layer would change the function).
  std::function<LayerPtr()> fresh;
};

inline CheckOptions with_eps(float eps) {
  CheckOptions o;
  o.eps = eps;
  return o;
}

inline CheckOptions in_training(bool training) {
  CheckOptions o;
  o.training = training;
  return o;
}

/// Checks backward's dx and every Variable::grad against central differences of sum(y * R).
inline void check_gradients(const LayerPtr& layer, Tensor x, const CheckOptions& o = {}) {
  const Tensor& y = layer->forward(x, o.training);
  ASSERT_EQ(y.shape(), layer->output_shape().with_batch(x.dim(0)));
  const std::vector<float> r = uniform_values(y.numel(), o.r_seed);
  const Tensor dy = make_tensor(r, y.shape());

  const Tensor& dx_tensor = layer->backward(dy, /*need_dx=*/true);
  ASSERT_TRUE(dx_tensor.defined()) << layer->name() << ": backward(need_dx=true) returned no dx";
  ASSERT_EQ(dx_tensor.shape(), x.shape()) << layer->name();
  const std::vector<float> dx = values_of(dx_tensor);
  // Trainable variables only: the others (moving statistics) have no gradient.
  std::vector<size_t> trainable;
  std::vector<std::vector<float>> dvars;
  for (size_t i = 0; i < layer->variables().size(); ++i) {
    nn::Variable& v = layer->variables()[i];
    if (!v.trainable) {
      EXPECT_FALSE(v.grad.defined()) << layer->name() << "/" << v.name << ": a non-trainable variable has a gradient";
      continue;
    }
    ASSERT_EQ(v.grad.shape(), v.value.shape()) << layer->name() << "/" << v.name;
    trainable.push_back(i);
    dvars.push_back(values_of(v.grad));
  }

  auto objective = [&] {
    LayerPtr l = o.fresh ? o.fresh() : layer;
    return weighted_sum(l->forward(x, o.training), r);
  };
  expect_close(dx, numeric_gradient(x.data<float>(), x.numel(), o.eps, objective), kGradAtol, kGradRtol,
               layer->name() + ": d/d(input)");
  for (size_t i = 0; i < dvars.size(); ++i) {
    nn::Variable& v = layer->variables()[trainable[i]];
    expect_close(dvars[i], numeric_gradient(v.value.data<float>(), v.value.numel(), o.eps, objective), kGradAtol,
                 kGradRtol, layer->name() + ": d/d(" + v.name + ")");
  }

  // need_dx=false (the first layer of a model) skips dx but writes the same variable gradients,
  // overwriting (not accumulating) the previous ones.
  if (!dvars.empty()) {
    layer->forward(x, o.training);
    const Tensor& none = layer->backward(dy, /*need_dx=*/false);
    EXPECT_FALSE(none.defined()) << layer->name() << ": backward(need_dx=false) returned a dx";
    for (size_t i = 0; i < dvars.size(); ++i) {
      const nn::Variable& v = layer->variables()[trainable[i]];
      expect_close(v.grad, dvars[i], 1e-6, 1e-5, layer->name() + ": " + v.name + " gradient with need_dx=false");
    }
  }
}

/// An input whose pre-activations (the outputs of `linear_twin`, the layer without its relu) are
/// all at least 5 eps from zero, so no perturbation of the checks crosses relu's kink: the first
/// of a few seeds that gives one.
inline Tensor relu_safe_input(nn::Layer& linear_twin, const Shape& shape, uint64_t seed, float eps) {
  for (uint64_t s = seed; s < seed + 100; ++s) {
    Tensor x = make_tensor(uniform_values(shape.numel(), s), shape);
    if (min_abs(values_of(linear_twin.forward(x, false))) > 5 * eps) return x;
  }
  ADD_FAILURE() << "no input keeps the pre-activations away from 0";
  return make_tensor(uniform_values(shape.numel(), seed), shape);
}

/// Activations with a kink at 0 (no derivative there): their checks keep every pre-activation
/// off it and take smaller steps.
inline bool kink_at_zero(const std::string& act) { return act == "relu" || act == "leaky_relu" || act == "selu"; }

}  // namespace kerosene::test
