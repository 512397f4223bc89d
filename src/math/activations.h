// Activation functions and their derivatives, each written as TensorFlow computes it (the
// reference Keras' values come from). Derivatives are functions of the output y wherever one
// exists, so a layer need not keep its input; gelu's and silu's take x.
#pragma once

#include <cmath>
#include <cstdint>

#include "math/host_device.h"

namespace kerosene::math {

KEROSENE_HD float relu(float x) { return x > 0.0f ? x : 0.0f; }
KEROSENE_HD float relu_grad_from_output(float y) { return y > 0.0f ? 1.0f : 0.0f; }

// Split by sign so exp never overflows.
KEROSENE_HD float sigmoid(float x) {
  if (x >= 0.0f) {
    float z = expf(-x);
    return 1.0f / (1.0f + z);
  }
  float z = expf(x);
  return z / (1.0f + z);
}
KEROSENE_HD float sigmoid_grad_from_output(float y) { return y * (1.0f - y); }

KEROSENE_HD float tanh_act(float x) { return tanhf(x); }
KEROSENE_HD float tanh_grad_from_output(float y) { return 1.0f - y * y; }

/// Keras' relu(x, negative_slope, max_value, threshold) (keras.activations.relu, threshold >= 0):
/// x above the threshold, else 0; clipped to max_value; minus negative_slope * (threshold - x)
/// below the threshold.
KEROSENE_HD float relu_with(float x, float negative_slope, float max_value, float threshold) {
  float y = x > threshold ? x : 0.0f;
  y = y < max_value ? y : max_value;
  return x < threshold ? y - negative_slope * (threshold - x) : y;
}
/// 1 on the linear part, 0 where clipped or cut, the slope below the threshold (y < 0 only there).
KEROSENE_HD float relu_with_grad_from_output(float y, float negative_slope, float max_value) {
  if (y > 0.0f) return y < max_value ? 1.0f : 0.0f;
  return y < 0.0f ? negative_slope : 0.0f;
}

KEROSENE_HD float leaky_relu(float x, float negative_slope) { return x > 0.0f ? x : negative_slope * x; }
// negative_slope >= 0, so y > 0 exactly where x > 0; at 0 the slope, as TensorFlow's LeakyReluGrad.
KEROSENE_HD float leaky_relu_grad_from_output(float y, float negative_slope) { return y > 0.0f ? 1.0f : negative_slope; }

// expm1 keeps exp(x) - 1 accurate near 0, as TensorFlow's Elu and Selu do; their gradients take
// the linear side's slope at 0 (EluGrad, SeluGrad).
KEROSENE_HD float elu(float x, float alpha) { return x > 0.0f ? x : alpha * expm1f(x); }
KEROSENE_HD float elu_grad_from_output(float y, float alpha) { return y < 0.0f ? y + alpha : 1.0f; }

inline constexpr float kSeluAlpha = 1.67326324f;
inline constexpr float kSeluScale = 1.05070098f;
KEROSENE_HD float selu(float x) { return kSeluScale * elu(x, kSeluAlpha); }
KEROSENE_HD float selu_grad_from_output(float y) { return y < 0.0f ? y + kSeluScale * kSeluAlpha : kSeluScale; }

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow, full precision at both ends.
KEROSENE_HD float softplus(float x) { return fmaxf(x, 0.0f) + log1pf(expf(-fabsf(x))); }
// sigmoid(x) = 1 - exp(-y), accurate also where y is tiny (x very negative).
KEROSENE_HD float softplus_grad_from_output(float y) { return -expm1f(-y); }

// relu6(x + 3) / 6, Keras 3's formula, so the values match it bit for bit.
KEROSENE_HD float hard_sigmoid(float x) { return fminf(fmaxf(x + 3.0f, 0.0f), 6.0f) / 6.0f; }
// 1/6 where 0 < x + 3 < 6 (relu6's gradient), which is exactly where 0 < y < 1.
KEROSENE_HD float hard_sigmoid_grad_from_output(float y) { return y > 0.0f && y < 1.0f ? 1.0f / 6.0f : 0.0f; }

inline constexpr float kSqrtHalf = 0.70710678118654752f;
inline constexpr float kInvSqrt2Pi = 0.39894228040143268f;
/// Exact gelu, x * Phi(x) with Phi the standard normal's CDF. Phi(x) = erfc(-x / sqrt 2) / 2 is
/// 1 + erf(x / sqrt 2) over 2 without its cancellation for negative x.
KEROSENE_HD float gelu(float x) { return 0.5f * x * erfcf(-x * kSqrtHalf); }
/// Phi(x) + x * phi(x).
KEROSENE_HD float gelu_grad(float x) { return 0.5f * erfcf(-x * kSqrtHalf) + x * kInvSqrt2Pi * expf(-0.5f * x * x); }

KEROSENE_HD float silu(float x) { return x * sigmoid(x); }
/// sigmoid(x) * (1 + x * (1 - sigmoid(x))).
KEROSENE_HD float silu_grad(float x) {
  const float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

/// Writes softmax(z) (n values) to probs and returns log(sum(exp(z))), computed stably.
KEROSENE_HD float softmax_row(const float* z, int64_t n, float* probs) {
  float m = z[0];
  for (int64_t j = 1; j < n; ++j) m = z[j] > m ? z[j] : m;
  float s = 0;
  for (int64_t j = 0; j < n; ++j) s += (probs[j] = expf(z[j] - m));
  const float inv = 1.0f / s;
  for (int64_t j = 0; j < n; ++j) probs[j] *= inv;
  return m + logf(s);
}

}  // namespace kerosene::math
