// Activation functions and their derivatives expressed through the output y.
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
