// The merge layers' kernels (Add, Subtract, Average, Maximum, Minimum, Concatenate): grid-stride
// element-wise loops, and a strided block copy for concatenation and its gradient.
#include <cstdint>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

__global__ void axpby_kernel(float alpha, const float* x, float beta, const float* y, float* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    out[i] = y ? alpha * x[i] + beta * y[i] : alpha * x[i];
  }
}

__global__ void minmax_kernel(bool maximum, const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const float x = a[i], y = b[i];
    out[i] = (maximum ? x >= y : x <= y) ? x : y;  // as the CPU: ties and NaN in a keep a
  }
}

__global__ void minmax_backward_kernel(bool maximum, const float* a, const float* b, const float* dy, float* da,
                                       float* db, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const bool to_a = maximum ? a[i] >= b[i] : a[i] <= b[i];
    const float g = dy[i];
    da[i] = to_a ? g : 0.0f;
    db[i] = to_a ? 0.0f : g;
  }
}

__global__ void copy_block_kernel(const float* src, int64_t src_cols, float* dst, int64_t dst_cols, int64_t rows,
                                  int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const int64_t r = i / cols, c = i % cols;
    dst[r * dst_cols + c] = src[r * src_cols + c];
  }
}

}  // namespace

int axpby(int device, float alpha, const float* x, float beta, const float* y, float* out, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  axpby_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(alpha, x, beta, beta == 0.0f ? nullptr : y, out, n);
  return check_launch("axpby");
}

int minmax(int device, bool maximum, const float* a, const float* b, float* out, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  minmax_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(maximum, a, b, out, n);
  return check_launch(maximum ? "maximum" : "minimum");
}

int minmax_backward(int device, bool maximum, const float* a, const float* b, const float* dy, float* da, float* db,
                    int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  minmax_backward_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(maximum, a, b, dy, da, db, n);
  return check_launch(maximum ? "maximum gradient" : "minimum gradient");
}

int copy_block(int device, const float* src, int64_t src_cols, float* dst, int64_t dst_cols, int64_t rows,
               int64_t cols) {
  if (rows <= 0 || cols <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  copy_block_kernel<<<blocks_for(rows * cols), kBlock, 0, s->stream>>>(src, src_cols, dst, dst_cols, rows, cols);
  return check_launch("copy_block");
}

}  // namespace kerosene::backends::cuda_impl
