// Per-element loss terms with Keras' conventions (probabilities clipped to [eps, 1 - eps],
// eps = 1e-7, for losses computed from probabilities).
#pragma once

#include <cmath>

#include "math/host_device.h"

namespace kerosene::math {

constexpr float kLossEpsilon = 1e-7f;

KEROSENE_HD float clip_probability(float p) {
  return p < kLossEpsilon ? kLossEpsilon : (p > 1.0f - kLossEpsilon ? 1.0f - kLossEpsilon : p);
}

/// Binary cross-entropy of a probability p against target t, and d/dp (zero where clipped).
KEROSENE_HD float binary_crossentropy(float p, float t) {
  float q = clip_probability(p);
  return -(t * logf(q) + (1.0f - t) * logf(1.0f - q));
}
KEROSENE_HD float binary_crossentropy_grad(float p, float t) {
  if (p < kLossEpsilon || p > 1.0f - kLossEpsilon) return 0.0f;
  return (p - t) / (p * (1.0f - p));
}

/// Binary cross-entropy from a logit z: max(z, 0) - z t + log(1 + exp(-|z|)); d/dz = sigmoid(z) - t.
KEROSENE_HD float binary_crossentropy_logits(float z, float t) {
  float az = z < 0.0f ? -z : z;
  return (z > 0.0f ? z : 0.0f) - z * t + log1pf(expf(-az));
}

}  // namespace kerosene::math
