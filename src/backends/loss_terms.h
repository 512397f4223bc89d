// Keras 3's regression, probabilistic and hinge losses as per-element terms, shared by the CPU
// and CUDA kernels so both compute the same formula. Each row's loss is the mean of its terms
// (the sum for kl_divergence), as Keras reduces over the last axis; cosine_similarity is the
// one loss that needs the whole row (its norms) and has its own code in each backend.
#pragma once

#include <cmath>

#include "backends/kernel_params.h"
#include "math/host_device.h"
#include "math/losses.h"

namespace kerosene::backends {

/// Whether `kind` is computed from loss_term (every loss but the cross-entropies and cosine).
KEROSENE_HD bool is_term_loss(LossKind kind) {
  return kind == LossKind::mean_squared_error || kind == LossKind::mean_absolute_error || kind == LossKind::huber ||
         kind == LossKind::log_cosh || kind == LossKind::mean_squared_logarithmic_error ||
         kind == LossKind::kl_divergence || kind == LossKind::poisson || kind == LossKind::hinge ||
         kind == LossKind::squared_hinge;
}

/// kl_divergence sums its terms over the row; the others average them.
KEROSENE_HD bool sums_terms(LossKind kind) { return kind == LossKind::kl_divergence; }

struct LossTerm {
  float value;
  float grad;  // d(value)/d(p)
};

KEROSENE_HD float sign_of(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : 0.0f); }

/// One element's term: prediction p, target t. `delta` is Huber's.
KEROSENE_HD LossTerm loss_term(LossKind kind, float p, float t, float delta) {
  const float eps = math::kLossEpsilon;
  const float d = p - t;
  switch (kind) {
    case LossKind::mean_absolute_error:
      return {fabsf(d), sign_of(d)};
    case LossKind::huber: {
      const float a = fabsf(d);
      if (a <= delta) return {0.5f * d * d, d};
      return {delta * a - 0.5f * delta * delta, delta * sign_of(d)};
    }
    case LossKind::log_cosh: {
      // log(cosh(x)) = x + softplus(-2x) - log 2, stable for large |x|; d/dx = tanh(x).
      const float y = -2.0f * d;
      const float softplus = (y > 0.0f ? y : 0.0f) + log1pf(expf(-fabsf(y)));
      return {d + softplus - 0.69314718055994531f, tanhf(d)};
    }
    case LossKind::mean_squared_logarithmic_error: {
      // (log(max(p, eps) + 1) - log(max(t, eps) + 1))^2; no gradient where p is clamped.
      const float pc = p > eps ? p : eps, tc = t > eps ? t : eps;
      const float a = logf(pc + 1.0f) - logf(tc + 1.0f);
      return {a * a, p > eps ? 2.0f * a / (p + 1.0f) : 0.0f};
    }
    case LossKind::kl_divergence: {
      // t log(t / p) with t and p clipped to [eps, 1]; no gradient where p is clipped.
      const float tc = t < eps ? eps : (t > 1.0f ? 1.0f : t);
      const float pc = p < eps ? eps : (p > 1.0f ? 1.0f : p);
      return {tc * logf(tc / pc), (p > eps && p < 1.0f) ? -tc / p : 0.0f};
    }
    case LossKind::poisson:
      return {p - t * logf(p + eps), 1.0f - t / (p + eps)};
    case LossKind::hinge:
    case LossKind::squared_hinge: {
      // Keras turns binary labels 0/1 into -1/1; a 0 becomes -1 here element by element, which
      // is Keras' batch-wide rule whenever a batch's labels are all 0/1 or hold no 0.
      const float y = t == 0.0f ? -1.0f : t;
      const float m = 1.0f - y * p;
      if (m <= 0.0f) return {0.0f, 0.0f};
      if (kind == LossKind::hinge) return {m, -y};
      return {m * m, -2.0f * m * y};
    }
    case LossKind::mean_squared_error:
    default:
      return {d * d, 2.0f * d};
  }
}

/// cosine_similarity's normalisation: x / ||x||, with 1/||x|| capped at 1/eps (Keras' normalize).
KEROSENE_HD float inverse_norm(float square_sum) {
  const float cap = 1.0f / math::kLossEpsilon;
  if (!(square_sum > 0.0f)) return cap;
  const float inv = 1.0f / sqrtf(square_sum);
  return inv < cap ? inv : cap;
}

/// Label smoothing as an affine map of the target: t * keep + add.
struct Smoothing {
  float keep = 1.0f, add = 0.0f;
};
KEROSENE_HD Smoothing smoothing_for(const LossArgs& args, int64_t cols) {
  const float s = args.label_smoothing;
  if (s == 0.0f) return {};
  if (args.kind == LossKind::binary_crossentropy) return {1.0f - s, 0.5f * s};
  return {1.0f - s, s / static_cast<float>(cols)};
}

}  // namespace kerosene::backends
