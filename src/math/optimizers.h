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

/// Keras Adam with amsgrad: as adam, dividing by sqrt(v_hat), v_hat = max(v_hat, v).
KEROSENE_HD void adam_amsgrad(float& p, float g, float& m, float& v, float& v_hat, float alpha, float beta_1,
                              float beta_2, float epsilon) {
  m += (g - m) * (1.0f - beta_1);
  v += (g * g - v) * (1.0f - beta_2);
  v_hat = fmaxf(v_hat, v);
  p -= m * alpha / (sqrtf(v_hat) + epsilon);
}

/// Keras Nadam: m, v as Adam; m_hat = u_next m / (1 - u_product_next) + (1 - u_t) g / (1 - u_product);
/// p -= m_hat lr / (sqrt(v / (1 - beta_2^t)) + eps). The u terms come from the host
/// (OptimizerStep: u_next, one_minus_product_next, one_minus_u, one_minus_product, one_minus_b2p).
KEROSENE_HD void nadam(float& p, float g, float& m, float& v, float lr, float beta_1, float beta_2, float epsilon,
                       float u_next, float one_minus_product_next, float one_minus_u, float one_minus_product,
                       float one_minus_beta_2_power) {
  m += (g - m) * (1.0f - beta_1);
  v += (g * g - v) * (1.0f - beta_2);
  const float m_hat = u_next * m / one_minus_product_next + one_minus_u * g / one_minus_product;
  const float v_hat = v / one_minus_beta_2_power;
  p -= m_hat * lr / (sqrtf(v_hat) + epsilon);
}

/// Keras Adamax: m += (g - m)(1 - b1); u = max(b2 u, |g|); p -= lr m / ((1 - b1^t)(u + eps)).
KEROSENE_HD void adamax(float& p, float g, float& m, float& u, float lr, float beta_1, float beta_2, float epsilon,
                        float one_minus_beta_1_power) {
  m += (g - m) * (1.0f - beta_1);
  u = fmaxf(beta_2 * u, fabsf(g));
  p -= lr * m / (one_minus_beta_1_power * (u + epsilon));
}

/// Keras Adagrad: acc += g^2; p -= lr g / sqrt(acc + eps).
KEROSENE_HD void adagrad(float& p, float g, float& accumulator, float lr, float epsilon) {
  accumulator += g * g;
  p -= lr * g / sqrtf(accumulator + epsilon);
}

/// Keras Lion: p -= lr sign(b1 m + (1 - b1) g); then m = b2 m + (1 - b2) g.
KEROSENE_HD void lion(float& p, float g, float& m, float lr, float beta_1, float beta_2) {
  const float c = m * beta_1 + g * (1.0f - beta_1);
  p -= lr * static_cast<float>((c > 0.0f) - (c < 0.0f));
  m = m * beta_2 + g * (1.0f - beta_2);
}

/// One element of OptimizerStep's rule (slots as optimizer_rule_slots says).
template <class Step>
KEROSENE_HD void optimizer_rule(const Step& s, float& p, float g, float* s0, float* s1, float* s2) {
  switch (s.rule) {
    case decltype(s.rule)::adam_amsgrad:
      adam_amsgrad(p, g, *s0, *s1, *s2, s.c0, s.beta_1, s.beta_2, s.epsilon);
      break;
    case decltype(s.rule)::nadam:
      nadam(p, g, *s0, *s1, s.learning_rate, s.beta_1, s.beta_2, s.epsilon, s.c0, s.c1, s.c2, s.c3, s.c4);
      break;
    case decltype(s.rule)::adamax:
      adamax(p, g, *s0, *s1, s.learning_rate, s.beta_1, s.beta_2, s.epsilon, s.c0);
      break;
    case decltype(s.rule)::adagrad:
      adagrad(p, g, *s0, s.learning_rate, s.epsilon);
      break;
    case decltype(s.rule)::lion:
      lion(p, g, *s0, s.learning_rate, s.beta_1, s.beta_2);
      break;
  }
}

}  // namespace kerosene::math
