// Optimizer updates; the formulas live in math/optimizers.h, shared with the CUDA kernels.
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "math/optimizers.h"

namespace kerosene::backends::cpu {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.raw_data()); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }

// Loops over restrict-qualified locals, so the compiler vectorizes them (through a lambda's
// captured references it cannot rule out aliasing).
void adam_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v, int64_t n,
                float alpha, float beta_1, float beta_2, float epsilon, float decay) {
  for (int64_t i = 0; i < n; ++i) math::adam(p[i], g[i], m[i], v[i], alpha, beta_1, beta_2, epsilon, decay);
}

void sgd_range(float* __restrict p, const float* __restrict g, float* __restrict v, int64_t n, float lr,
               float momentum, bool nesterov) {
  for (int64_t i = 0; i < n; ++i) math::sgd_momentum(p[i], g[i], v[i], lr, momentum, nesterov);
}

}  // namespace

void CpuBackend::sgd_update(const SGDStep& s, Tensor& param, const Tensor& grad, Tensor* velocity) {
  float* p = f32(param);
  const float* g = f32(grad);
  const int64_t n = param.numel();
  if (!velocity) {
    for (int64_t i = 0; i < n; ++i) p[i] -= s.learning_rate * g[i];
    return;
  }
  float* v = f32(*velocity);
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    sgd_range(p + begin, g + begin, v + begin, end - begin, s.learning_rate, s.momentum, s.nesterov);
  });
}

void CpuBackend::adam_update(const AdamStep& s, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v) {
  float* p = f32(param);
  const float* g = f32(grad);
  float* mm = f32(m);
  float* vv = f32(v);
  const float alpha = s.learning_rate * std::sqrt(1.0f - s.beta_2_power) / (1.0f - s.beta_1_power);
  const float decay = s.learning_rate * s.weight_decay;
  const int64_t n = param.numel();
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    adam_range(p + begin, g + begin, mm + begin, vv + begin, end - begin, alpha, s.beta_1, s.beta_2, s.epsilon, decay);
  });
}

void CpuBackend::rmsprop_update(const RMSpropStep& s, Tensor& param, const Tensor& grad, Tensor& ms,
                                Tensor* mom, Tensor* mg) {
  float* p = f32(param);
  const float* g = f32(grad);
  float* a = f32(ms);
  float* b = mom ? f32(*mom) : nullptr;
  float* c = mg ? f32(*mg) : nullptr;
  const int64_t n = param.numel();
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      math::rmsprop(p[i], g[i], a[i], b ? b + i : nullptr, c ? c + i : nullptr, s.learning_rate, s.rho,
                    s.momentum, s.epsilon);
    }
  });
}

void CpuBackend::optimizer_update(const OptimizerStep& s, Tensor& param, const Tensor& grad, Tensor* slots) {
  float* p = f32(param);
  const float* g = f32(grad);
  const int used = optimizer_rule_slots(s.rule);
  float* s0 = f32(slots[0]);
  float* s1 = used > 1 ? f32(slots[1]) : nullptr;
  float* s2 = used > 2 ? f32(slots[2]) : nullptr;
  const int64_t n = param.numel();
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      math::optimizer_rule(s, p[i], g[i], s0 + i, s1 ? s1 + i : nullptr, s2 ? s2 + i : nullptr);
    }
  });
}

}  // namespace kerosene::backends::cpu
