// Optimizer updates; the formulas live in math/optimizers.h, shared with the CUDA kernels.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "math/optimizers.h"

namespace kerosene::backends::cpu {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.raw_data()); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }

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
  const int threads = threads_for_elements(n);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t i = 0; i < n; ++i) math::sgd_momentum(p[i], g[i], v[i], s.learning_rate, s.momentum, s.nesterov);
}

void CpuBackend::adam_update(const AdamStep& s, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v) {
  float* p = f32(param);
  const float* g = f32(grad);
  float* mm = f32(m);
  float* vv = f32(v);
  const float alpha = s.learning_rate * std::sqrt(1.0f - s.beta_2_power) / (1.0f - s.beta_1_power);
  const float decay = s.learning_rate * s.weight_decay;
  const int64_t n = param.numel();
  const int threads = threads_for_elements(n);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t i = 0; i < n; ++i) {
    math::adam(p[i], g[i], mm[i], vv[i], alpha, s.beta_1, s.beta_2, s.epsilon, decay);
  }
}

void CpuBackend::rmsprop_update(const RMSpropStep& s, Tensor& param, const Tensor& grad, Tensor& ms,
                                Tensor* mom, Tensor* mg) {
  float* p = f32(param);
  const float* g = f32(grad);
  float* a = f32(ms);
  float* b = mom ? f32(*mom) : nullptr;
  float* c = mg ? f32(*mg) : nullptr;
  const int64_t n = param.numel();
  const int threads = threads_for_elements(n);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t i = 0; i < n; ++i) {
    math::rmsprop(p[i], g[i], a[i], b ? b + i : nullptr, c ? c + i : nullptr, s.learning_rate, s.rho,
                  s.momentum, s.epsilon);
  }
}

}  // namespace kerosene::backends::cpu
