// Optimizer updates, one thread per element, with the rules of math/optimizers.h and the host-side
// constants computed by the same expressions as cpu_optimizers.cpp (so the same float bits).
#include <cmath>
#include <cstdint>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"
#include "math/optimizers.h"

namespace kerosene::backends::cuda_impl {
namespace {

__global__ void sgd_plain_kernel(float* p, const float* g, int64_t n, float lr) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) p[i] -= lr * g[i];
}

__global__ void sgd_momentum_kernel(float* p, const float* g, float* v, int64_t n, float lr, float momentum,
                                    bool nesterov) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) math::sgd_momentum(p[i], g[i], v[i], lr, momentum, nesterov);
}

__global__ void adam_kernel(float* p, const float* g, float* m, float* v, int64_t n, float alpha, float beta_1,
                            float beta_2, float epsilon, float decay) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    math::adam(p[i], g[i], m[i], v[i], alpha, beta_1, beta_2, epsilon, decay);
  }
}

// mom and mg are optional (no momentum, not centered), as on the CPU.
__global__ void rmsprop_kernel(float* p, const float* g, float* ms, float* mom, float* mg, int64_t n, float lr,
                               float rho, float momentum, float epsilon) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    math::rmsprop(p[i], g[i], ms[i], mom ? mom + i : nullptr, mg ? mg + i : nullptr, lr, rho, momentum, epsilon);
  }
}

// The rules of OptimizerRule; s is passed by value (kernel parameter memory).
__global__ void optimizer_rule_kernel(OptimizerStep s, float* p, const float* g, float* s0, float* s1, float* s2,
                                      int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    math::optimizer_rule(s, p[i], g[i], s0 + i, s1 ? s1 + i : nullptr, s2 ? s2 + i : nullptr);
  }
}

}  // namespace

int sgd_update(int device, const SGDStep* s, float* param, const float* grad, float* velocity, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* state = nullptr;
  KEROSENE_TRY(acquire(device, &state));
  if (velocity) {
    sgd_momentum_kernel<<<blocks_for(n), kBlock, 0, state->stream>>>(param, grad, velocity, n, s->learning_rate,
                                                                      s->momentum, s->nesterov);
  } else {
    sgd_plain_kernel<<<blocks_for(n), kBlock, 0, state->stream>>>(param, grad, n, s->learning_rate);
  }
  return check_launch("sgd_update");
}

int adam_update(int device, const AdamStep* s, float* param, const float* grad, float* m, float* v, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* state = nullptr;
  KEROSENE_TRY(acquire(device, &state));
  const float alpha = s->learning_rate * std::sqrt(1.0f - s->beta_2_power) / (1.0f - s->beta_1_power);
  const float decay = s->learning_rate * s->weight_decay;
  adam_kernel<<<blocks_for(n), kBlock, 0, state->stream>>>(param, grad, m, v, n, alpha, s->beta_1, s->beta_2,
                                                            s->epsilon, decay);
  return check_launch("adam_update");
}

int rmsprop_update(int device, const RMSpropStep* s, float* param, const float* grad, float* ms, float* mom,
                   float* mg, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* state = nullptr;
  KEROSENE_TRY(acquire(device, &state));
  rmsprop_kernel<<<blocks_for(n), kBlock, 0, state->stream>>>(param, grad, ms, mom, mg, n, s->learning_rate, s->rho,
                                                               s->momentum, s->epsilon);
  return check_launch("rmsprop_update");
}

int optimizer_update(int device, const OptimizerStep* s, float* param, const float* grad, float* slot0, float* slot1,
                     float* slot2, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* state = nullptr;
  KEROSENE_TRY(acquire(device, &state));
  optimizer_rule_kernel<<<blocks_for(n), kBlock, 0, state->stream>>>(*s, param, grad, slot0, slot1, slot2, n);
  return check_launch("optimizer_update");
}

}  // namespace kerosene::backends::cuda_impl
