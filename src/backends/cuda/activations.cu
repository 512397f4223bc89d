// Activations forward and backward (dx may alias dy), with the CPU's formulas
// (backends/activation_elements.h): the backward reads the output y, or the input x for the
// kinds whose derivative needs it. Softmax gives each vector one warp.
#include <cstdint>
#include <string>

#include "backends/activation_elements.h"
#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

// Plain relu keeps its own kernels: the common case, and a select (not a product) in backward,
// as the CPU's.
__global__ void relu_forward_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) y[i] = math::relu(x[i]);
}
__global__ void relu_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

template <ActivationKind K>
__global__ void activation_forward_kernel(const float* x, float* y, int64_t n, ActivationParams a) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) y[i] = activate<K>(x[i], a);
}

// `v` is x or y, as backward_reads_input(K) says.
template <ActivationKind K>
__global__ void activation_backward_kernel(const float* v, const float* dy, float* dx, int64_t n, ActivationParams a) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) dx[i] = dy[i] * activation_derivative<K>(v[i], a);
}

// As math::softmax_row: subtract the maximum, exponentiate, multiply by 1 / sum, over `cols`
// values `inner` apart (1: a row). One warp per vector; y may alias x: each element is read and
// written by the same lane, reads first.
__global__ void softmax_forward_kernel(const float* x, float* y, int64_t rows, int64_t cols, int64_t inner) {
  for (int64_t r = global_warp(); r < rows * inner; r += warp_count()) {
    const int64_t first = (r / inner) * cols * inner + r % inner;
    const float* z = x + first;
    float* out = y + first;
    float m = -INFINITY;
    for (int64_t j = lane(); j < cols; j += kWarp) m = fmaxf(m, z[j * inner]);
    m = warp_max(m);
    float s = 0.0f;
    for (int64_t j = lane(); j < cols; j += kWarp) {
      const float e = expf(z[j * inner] - m);
      out[j * inner] = e;
      s += e;
    }
    const float inv = 1.0f / warp_sum(s);
    for (int64_t j = lane(); j < cols; j += kWarp) out[j * inner] *= inv;
  }
}

// dx = y * (dy - sum(dy * y)) along the vector; the sum is complete before any dx is written.
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols,
                                        int64_t inner) {
  for (int64_t r = global_warp(); r < rows * inner; r += warp_count()) {
    const int64_t first = (r / inner) * cols * inner + r % inner;
    const float* yr = y + first;
    const float* gr = dy + first;
    float* dr = dx + first;
    float dot = 0.0f;
    for (int64_t j = lane(); j < cols; j += kWarp) dot += gr[j * inner] * yr[j * inner];
    dot = warp_sum(dot);
    for (int64_t j = lane(); j < cols; j += kWarp) dr[j * inner] = yr[j * inner] * (gr[j * inner] - dot);
  }
}

int copy_if_distinct(cudaStream_t stream, float* dst, const float* src, int64_t n) {
  if (dst == src) return cuda_abi::kOk;
  return check(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyDeviceToDevice, stream),
               "cudaMemcpyAsync");
}

int unknown(ActivationKind kind) {
  return fail(cuda_abi::kError, "unknown activation kind " + std::to_string(static_cast<int>(kind)));
}

}  // namespace

int activation_forward(int device, const ActivationParams* a, const float* x, float* y, int64_t rows, int64_t cols,
                       int64_t inner) {
  const int64_t n = rows * cols * inner;
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const unsigned blocks = blocks_for(n);
  if (a->kind == ActivationKind::linear) return copy_if_distinct(s->stream, y, x, n);
  if (a->kind == ActivationKind::softmax) {
    softmax_forward_kernel<<<row_blocks(rows * inner), kBlock, 0, s->stream>>>(x, y, rows, cols, inner);
  } else if (is_plain_relu(*a)) {
    relu_forward_kernel<<<blocks, kBlock, 0, s->stream>>>(x, y, n);
  } else if (!visit_elementwise(a->kind, [&](auto kind) {
               constexpr ActivationKind K = decltype(kind)::value;
               activation_forward_kernel<K><<<blocks, kBlock, 0, s->stream>>>(x, y, n, *a);
             })) {
    return unknown(a->kind);
  }
  return check_launch("activation_forward");
}

int activation_backward(int device, const ActivationParams* a, const float* x, const float* y, const float* dy,
                        float* dx, int64_t rows, int64_t cols, int64_t inner) {
  const int64_t n = rows * cols * inner;
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const unsigned blocks = blocks_for(n);
  if (a->kind == ActivationKind::linear) return copy_if_distinct(s->stream, dx, dy, n);
  if (a->kind == ActivationKind::softmax) {
    softmax_backward_kernel<<<row_blocks(rows * inner), kBlock, 0, s->stream>>>(y, dy, dx, rows, cols, inner);
  } else if (is_plain_relu(*a)) {
    relu_backward_kernel<<<blocks, kBlock, 0, s->stream>>>(y, dy, dx, n);
  } else if (!visit_elementwise(a->kind, [&](auto kind) {
               constexpr ActivationKind K = decltype(kind)::value;
               const float* v = backward_reads_input(K) ? x : y;
               activation_backward_kernel<K><<<blocks, kBlock, 0, s->stream>>>(v, dy, dx, n, *a);
             })) {
    return unknown(a->kind);
  }
  return check_launch("activation_backward");
}

}  // namespace kerosene::backends::cuda_impl
