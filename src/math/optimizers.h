// Optimizer update rules, one element at a time, exactly as Keras writes them.
#pragma once

#include <cmath>

#include "math/host_device.h"

namespace kerosene::math {

/// Keras SGD: v = momentum v - lr g; p += v (nesterov: p += momentum v - lr g).
KEROSENE_HD void sgd_momentum(float& p, float g, float& v, float lr, float momentum, bool nesterov) {
  v = momentum * v - lr * g;
  p += nesterov ? momentum * v - lr * g : v;
}

/// Keras Adam: m += (g - m)(1 - b1); v += (g^2 - v)(1 - b2); p -= alpha m / (sqrt(v) + eps),
/// alpha = lr sqrt(1 - b2^t) / (1 - b1^t). AdamW first decays p by lr * weight_decay.
KEROSENE_HD void adam(float& p, float g, float& m, float& v, float alpha, float beta_1,
                      float beta_2, float epsilon, float decay) {
  p -= p * decay;
  m += (g - m) * (1.0f - beta_1);
  v += (g * g - v) * (1.0f - beta_2);
  p -= alpha * m / (sqrtf(v) + epsilon);
}

/// Keras RMSprop: ms = rho ms + (1 - rho) g^2; centered subtracts mg^2 (mg = rho mg + (1-rho) g);
/// with momentum: mom = momentum mom + lr g / sqrt(ms + eps); p -= mom; else p -= lr g / sqrt(ms + eps).
KEROSENE_HD void rmsprop(float& p, float g, float& ms, float* mom, float* mg, float lr, float rho,
                         float momentum, float epsilon) {
  ms = rho * ms + (1.0f - rho) * g * g;
  float denominator = ms;
  if (mg) {
    *mg = rho * *mg + (1.0f - rho) * g;
    denominator = ms - *mg * *mg;
  }
  float increment = lr * g / sqrtf(denominator + epsilon);
  if (mom) {
    *mom = momentum * *mom + increment;
    p -= *mom;
  } else {
    p -= increment;
  }
}

}  // namespace kerosene::math
