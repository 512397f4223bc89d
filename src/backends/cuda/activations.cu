// Activations forward and backward, the backward computed from the output y (dx may alias dy),
// with the formulas of math/activations.h. Softmax gives each row one warp.
#include <cstdint>
#include <string>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"
#include "math/activations.h"

namespace kerosene::backends::cuda_impl {
namespace {

template <ActivationKind kKind>
__global__ void activation_forward_kernel(const float* x, float* y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const float v = x[i];
    if constexpr (kKind == ActivationKind::relu) y[i] = math::relu(v);
    if constexpr (kKind == ActivationKind::sigmoid) y[i] = math::sigmoid(v);
    if constexpr (kKind == ActivationKind::tanh) y[i] = math::tanh_act(v);
  }
}

template <ActivationKind kKind>
__global__ void activation_backward_kernel(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const float out = y[i], g = dy[i];
    if constexpr (kKind == ActivationKind::relu) dx[i] = out > 0.0f ? g : 0.0f;
    if constexpr (kKind == ActivationKind::sigmoid) dx[i] = g * math::sigmoid_grad_from_output(out);
    if constexpr (kKind == ActivationKind::tanh) dx[i] = g * math::tanh_grad_from_output(out);
  }
}

// As math::softmax_row: subtract the row's maximum, exponentiate, multiply by 1 / sum. y may
// alias x: each element is read and written by the same lane, reads first.
__global__ void softmax_forward_kernel(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = global_warp(); r < rows; r += warp_count()) {
    const float* z = x + r * cols;
    float* out = y + r * cols;
    float m = -INFINITY;
    for (int64_t j = lane(); j < cols; j += kWarp) m = fmaxf(m, z[j]);
    m = warp_max(m);
    float s = 0.0f;
    for (int64_t j = lane(); j < cols; j += kWarp) {
      const float e = expf(z[j] - m);
      out[j] = e;
      s += e;
    }
    const float inv = 1.0f / warp_sum(s);
    for (int64_t j = lane(); j < cols; j += kWarp) out[j] *= inv;
  }
}

// dx = y * (dy - sum(dy * y)) per row; the sum is complete before any dx is written.
__global__ void softmax_backward_kernel(const float* y, const float* dy, float* dx, int64_t rows, int64_t cols) {
  for (int64_t r = global_warp(); r < rows; r += warp_count()) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    float* dr = dx + r * cols;
    float dot = 0.0f;
    for (int64_t j = lane(); j < cols; j += kWarp) dot += gr[j] * yr[j];
    dot = warp_sum(dot);
    for (int64_t j = lane(); j < cols; j += kWarp) dr[j] = yr[j] * (gr[j] - dot);
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

int activation_forward(int device, ActivationKind kind, const float* x, float* y, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  if (rows <= 0 || cols <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const unsigned blocks = blocks_for(n);
  switch (kind) {
    case ActivationKind::linear: return copy_if_distinct(s->stream, y, x, n);
    case ActivationKind::relu:
      activation_forward_kernel<ActivationKind::relu><<<blocks, kBlock, 0, s->stream>>>(x, y, n);
      break;
    case ActivationKind::sigmoid:
      activation_forward_kernel<ActivationKind::sigmoid><<<blocks, kBlock, 0, s->stream>>>(x, y, n);
      break;
    case ActivationKind::tanh:
      activation_forward_kernel<ActivationKind::tanh><<<blocks, kBlock, 0, s->stream>>>(x, y, n);
      break;
    case ActivationKind::softmax:
      softmax_forward_kernel<<<row_blocks(rows), kBlock, 0, s->stream>>>(x, y, rows, cols);
      break;
    default: return unknown(kind);
  }
  return check_launch("activation_forward");
}

int activation_backward(int device, ActivationKind kind, const float* y, const float* dy, float* dx, int64_t rows,
                        int64_t cols) {
  const int64_t n = rows * cols;
  if (rows <= 0 || cols <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const unsigned blocks = blocks_for(n);
  switch (kind) {
    case ActivationKind::linear: return copy_if_distinct(s->stream, dx, dy, n);
    case ActivationKind::relu:
      activation_backward_kernel<ActivationKind::relu><<<blocks, kBlock, 0, s->stream>>>(y, dy, dx, n);
      break;
    case ActivationKind::sigmoid:
      activation_backward_kernel<ActivationKind::sigmoid><<<blocks, kBlock, 0, s->stream>>>(y, dy, dx, n);
      break;
    case ActivationKind::tanh:
      activation_backward_kernel<ActivationKind::tanh><<<blocks, kBlock, 0, s->stream>>>(y, dy, dx, n);
      break;
    case ActivationKind::softmax:
      softmax_backward_kernel<<<row_blocks(rows), kBlock, 0, s->stream>>>(y, dy, dx, rows, cols);
      break;
    default: return unknown(kind);
  }
  return check_launch("activation_backward");
}

}  // namespace kerosene::backends::cuda_impl
