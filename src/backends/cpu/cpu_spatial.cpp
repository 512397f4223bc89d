// The copies of ZeroPadding2D, Cropping2D and UpSampling2D (SpatialCopy2DParams): row by row,
// each output row a run of zeros, copied pixels, zeros. Memory-bound; rows are split over the team.
#include <algorithm>
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace kerosene::backends::cpu {
namespace {

// Calls f(row) for every row in [0, rows), contiguous ranges of rows spread over the team.
template <typename F>
void for_rows(int64_t rows, int64_t row_elements, F&& f) {
  const int chunks = static_cast<int>(std::min<int64_t>(threads_for_elements(rows * row_elements), rows));
  if (chunks <= 0) return;
  const int64_t block = (rows + chunks - 1) / chunks;
  ParallelTeam::instance().run(chunks, [&](int c) {
    const int64_t end = std::min(rows, (c + 1) * block);
    for (int64_t r = c * block; r < end; ++r) f(r);
  });
}

// The source row (or column) output position o copies, or -1 when it is a zero.
int64_t source_of(int64_t o, int64_t offset, int64_t repeat, int64_t in) {
  const int64_t t = o - offset;
  if (t < 0 || t / repeat >= in) return -1;
  return t / repeat;
}

}  // namespace

void CpuBackend::spatial_copy2d(const SpatialCopy2DParams& p, const Tensor& src, Tensor& dst) {
  const float* s = static_cast<const float*>(src.raw_data());
  float* d = static_cast<float*>(dst.raw_data());
  const int64_t C = p.channels;
  // Output columns [w0, w1) copy a pixel; the others are zero.
  const int64_t w0 = std::clamp<int64_t>(p.offset_w, 0, p.out_w);
  const int64_t w1 = std::clamp<int64_t>(p.offset_w + p.in_w * p.repeat_w, w0, p.out_w);
  for_rows(p.batch * p.out_h, p.out_w * C, [&](int64_t row) {
    float* out = d + row * p.out_w * C;
    const int64_t ih = source_of(row % p.out_h, p.offset_h, p.repeat_h, p.in_h);
    if (ih < 0) {
      std::fill(out, out + p.out_w * C, 0.0f);
      return;
    }
    const float* in = s + (row / p.out_h * p.in_h + ih) * p.in_w * C;
    std::fill(out, out + w0 * C, 0.0f);
    if (p.repeat_w == 1) {  // padding and cropping: the row's pixels are one contiguous run
      std::memcpy(out + w0 * C, in + (w0 - p.offset_w) * C, static_cast<size_t>((w1 - w0) * C) * sizeof(float));
    } else {
      for (int64_t w = w0; w < w1; ++w) std::copy_n(in + (w - p.offset_w) / p.repeat_w * C, C, out + w * C);
    }
    std::fill(out + w1 * C, out + p.out_w * C, 0.0f);
  });
}

void CpuBackend::spatial_copy2d_backward(const SpatialCopy2DParams& p, const Tensor& ddst, Tensor& dsrc) {
  const float* g = static_cast<const float*>(ddst.raw_data());
  float* d = static_cast<float*>(dsrc.raw_data());
  const int64_t C = p.channels;
  // Each source pixel sums the repeat_h x repeat_w output pixels that copied it, row by row
  // (the CUDA kernel adds in the same order).
  for_rows(p.batch * p.in_h, p.in_w * C * p.repeat_h * p.repeat_w, [&](int64_t row) {
    float* out = d + row * p.in_w * C;
    std::fill(out, out + p.in_w * C, 0.0f);
    const int64_t n = row / p.in_h, i = row % p.in_h;
    for (int64_t dh = 0; dh < p.repeat_h; ++dh) {
      const int64_t h = i * p.repeat_h + dh + p.offset_h;
      if (h < 0 || h >= p.out_h) continue;
      const float* grad = g + (n * p.out_h + h) * p.out_w * C;
      for (int64_t j = 0; j < p.in_w; ++j) {
        for (int64_t dw = 0; dw < p.repeat_w; ++dw) {
          const int64_t w = j * p.repeat_w + dw + p.offset_w;
          if (w < 0 || w >= p.out_w) continue;
          for (int64_t c = 0; c < C; ++c) out[j * C + c] += grad[w * C + c];
        }
      }
    }
  });
}

}  // namespace kerosene::backends::cpu
