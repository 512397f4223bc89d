// The merge layers' kernels (Add, Subtract, Average, Maximum, Minimum, Concatenate): simple
// loops the compiler vectorizes; they move as many bytes as a copy and are memory-bound, so
// they are split over the thread team like the other element-wise ops (on one thread, axpby
// was 4.5% of the Fashion-MNIST ResNet's step: the residual Adds and the gradient sums).
#include <algorithm>
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace kerosene::backends::cpu {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.raw_data()); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }

}  // namespace

void CpuBackend::axpby(float alpha, const Tensor& x, float beta, const Tensor& y, Tensor& out) {
  const float* a = f32(x);
  float* o = f32(out);
  const int64_t n = out.numel();
  const float* b = beta == 0.0f ? nullptr : f32(y);
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    if (b == nullptr) {
      for (int64_t i = begin; i < end; ++i) o[i] = alpha * a[i];
    } else {
      for (int64_t i = begin; i < end; ++i) o[i] = alpha * a[i] + beta * b[i];
    }
  });
}

void CpuBackend::add_relu(const Tensor& a, const Tensor& b, Tensor& out) {
  const float* x = f32(a);
  const float* y = f32(b);
  float* o = f32(out);
  const int64_t n = out.numel();
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) o[i] = std::max(x[i] + y[i], 0.0f);
  });
}

void CpuBackend::minmax(bool maximum, const Tensor& a, const Tensor& b, Tensor& out) {
  const float* x = f32(a);
  const float* y = f32(b);
  float* o = f32(out);
  const int64_t n = out.numel();
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    if (maximum) {
      for (int64_t i = begin; i < end; ++i) o[i] = x[i] >= y[i] ? x[i] : y[i];
    } else {
      for (int64_t i = begin; i < end; ++i) o[i] = x[i] <= y[i] ? x[i] : y[i];
    }
  });
}

void CpuBackend::minmax_backward(bool maximum, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                                 Tensor& db) {
  const float* x = f32(a);
  const float* y = f32(b);
  const float* g = f32(dy);
  float* gx = f32(da);
  float* gy = f32(db);
  const int64_t n = dy.numel();
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const bool to_a = maximum ? x[i] >= y[i] : x[i] <= y[i];
      const float v = g[i];  // read first: da or db may alias dy
      gx[i] = to_a ? v : 0.0f;
      gy[i] = to_a ? 0.0f : v;
    }
  });
}

void CpuBackend::copy_block(const Tensor& src, int64_t src_cols, int64_t src_col, Tensor& dst, int64_t dst_cols,
                            int64_t dst_col, int64_t rows, int64_t cols) {
  const float* s = f32(src) + src_col;
  float* d = f32(dst) + dst_col;
  for (int64_t r = 0; r < rows; ++r) std::memcpy(d + r * dst_cols, s + r * src_cols, static_cast<size_t>(cols) * sizeof(float));
}

}  // namespace kerosene::backends::cpu
