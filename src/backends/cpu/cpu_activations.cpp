// Activations forward and backward: per-element loops over restrict-free pointers (y may alias
// x, dx may alias dy; the compiler vectorizes them behind a runtime overlap check), split over
// the ParallelTeam when large. The formulas are backends/activation_elements.h's, shared with
// the CUDA kernels.
#include <cmath>
#include <cstring>

#include "backends/activation_elements.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace kerosene::backends::cpu {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.raw_data()); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }

template <ActivationKind K>
void forward_range(const float* x, float* y, int64_t n, ActivationParams a) {
  for (int64_t i = 0; i < n; ++i) y[i] = activate<K>(x[i], a);
}

// `v` is x or y, as backward_reads_input(K) says.
template <ActivationKind K>
void backward_range(const float* v, const float* dy, float* dx, int64_t n, ActivationParams a) {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * activation_derivative<K>(v[i], a);
}

// The fast paths: relu fused or alone in most models; a select, not a product, so an infinite
// dy where y is 0 gives 0, not NaN.
void relu_range(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = math::relu(x[i]);
}
void relu_backward_range(const float* y, const float* dy, float* dx, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

// Softmax of n values `stride` apart, as math::softmax_row computes a contiguous row.
void softmax_strided(const float* x, float* y, int64_t n, int64_t stride) {
  if (stride == 1) {
    math::softmax_row(x, n, y);
    return;
  }
  float m = x[0];
  for (int64_t j = 1; j < n; ++j) m = x[j * stride] > m ? x[j * stride] : m;
  float s = 0;
  for (int64_t j = 0; j < n; ++j) s += (y[j * stride] = std::exp(x[j * stride] - m));
  const float inv = 1.0f / s;
  for (int64_t j = 0; j < n; ++j) y[j * stride] *= inv;
}

// dx = y * (dy - sum(dy * y)) along the axis; the sum is complete before dx (maybe dy) is written.
void softmax_backward_strided(const float* y, const float* dy, float* dx, int64_t n, int64_t stride) {
  float dot = 0;
  for (int64_t j = 0; j < n; ++j) dot += dy[j * stride] * y[j * stride];
  for (int64_t j = 0; j < n; ++j) dx[j * stride] = y[j * stride] * (dy[j * stride] - dot);
}

// Calls f(first element, stride) for every softmax vector of a tensor split at the axis,
// vectors spread over the team.
template <typename F>
void for_each_vector(const AxisSplit& s, F&& f) {
  const int64_t vectors = s.outer * s.inner;
  parallel_ranges(threads_for_elements(vectors * s.n), vectors, [&](int64_t begin, int64_t end) {
    for (int64_t v = begin; v < end; ++v) f((v / s.inner) * s.n * s.inner + v % s.inner, s.inner);
  });
}

}  // namespace

void CpuBackend::activation_forward(const ActivationParams& a, const Tensor& x, Tensor& y) {
  const float* in = f32(x);
  float* out = f32(y);
  const int64_t n = x.numel();
  if (a.kind == ActivationKind::linear) {
    if (in != out) std::memcpy(out, in, n * sizeof(float));
    return;
  }
  if (a.kind == ActivationKind::softmax) {
    const AxisSplit s = split_at_axis(x.shape(), a.axis);
    for_each_vector(s, [&](int64_t first, int64_t stride) { softmax_strided(in + first, out + first, s.n, stride); });
    return;
  }
  const int chunks = threads_for_elements(n);
  if (is_plain_relu(a)) {
    parallel_ranges(chunks, n, [&](int64_t b, int64_t e) { relu_range(in + b, out + b, e - b); });
    return;
  }
  visit_elementwise(a.kind, [&](auto kind) {
    constexpr ActivationKind K = decltype(kind)::value;
    parallel_ranges(chunks, n, [&](int64_t b, int64_t e) { forward_range<K>(in + b, out + b, e - b, a); });
  });
}

void CpuBackend::activation_backward(const ActivationParams& a, const Tensor& x, const Tensor& y,
                                     const Tensor& dy, Tensor& dx) {
  const float* g = f32(dy);
  float* d = f32(dx);
  const int64_t n = dy.numel();
  if (a.kind == ActivationKind::linear) {
    if (g != d) std::memcpy(d, g, n * sizeof(float));
    return;
  }
  const float* out = f32(y);
  if (a.kind == ActivationKind::softmax) {
    const AxisSplit s = split_at_axis(y.shape(), a.axis);
    for_each_vector(s, [&](int64_t first, int64_t stride) {
      softmax_backward_strided(out + first, g + first, d + first, s.n, stride);
    });
    return;
  }
  const int chunks = threads_for_elements(n);
  if (is_plain_relu(a)) {
    parallel_ranges(chunks, n, [&](int64_t b, int64_t e) { relu_backward_range(out + b, g + b, d + b, e - b); });
    return;
  }
  visit_elementwise(a.kind, [&](auto kind) {
    constexpr ActivationKind K = decltype(kind)::value;
    const float* v = backward_reads_input(K) ? f32(x) : out;
    parallel_ranges(chunks, n, [&](int64_t b, int64_t e) { backward_range<K>(v + b, g + b, d + b, e - b, a); });
  });
}

}  // namespace kerosene::backends::cpu
