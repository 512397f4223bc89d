// Layout changes around cuDNN calls: weights between Keras' HWIO and cuDNN's KRSC (OHWI), and
// explicit zero padding for the asymmetric paddings cuDNN's convolution descriptor cannot express.
#include <cstdint>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

// Weights are small (kh * kw * in_c * out_c), so one thread per element without shared-memory tiles.
__global__ void transpose_kernel(const float* in, float* out, int64_t rows, int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t o = global_thread(); o < total; o += thread_count()) {
    const int64_t j = o / rows, i = o % rows;  // out is cols x rows: out[j, i] = in[i, j]
    out[o] = in[i * cols + j];
  }
}

__global__ void pad_kernel(const float* x, float* padded, PadShape s, int64_t total) {
  const int64_t hp = s.h + s.top + s.bottom, wp = s.w + s.left + s.right;
  for (int64_t o = global_thread(); o < total; o += thread_count()) {
    const int64_t c = o % s.c, pw = (o / s.c) % wp, ph = (o / s.c / wp) % hp, n = o / s.c / wp / hp;
    const int64_t h = ph - s.top, w = pw - s.left;
    const bool inside = h >= 0 && h < s.h && w >= 0 && w < s.w;
    padded[o] = inside ? x[((n * s.h + h) * s.w + w) * s.c + c] : 0.0f;
  }
}

__global__ void crop_kernel(const float* padded, float* x, PadShape s, int64_t total) {
  const int64_t hp = s.h + s.top + s.bottom, wp = s.w + s.left + s.right;
  for (int64_t i = global_thread(); i < total; i += thread_count()) {
    const int64_t c = i % s.c, w = (i / s.c) % s.w, h = (i / s.c / s.w) % s.h, n = i / s.c / s.w / s.h;
    x[i] = padded[((n * hp + h + s.top) * wp + w + s.left) * s.c + c];
  }
}

}  // namespace

int launch_transpose(cudaStream_t stream, const float* in, float* out, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return cuda_abi::kOk;
  transpose_kernel<<<blocks_for(rows * cols), kBlock, 0, stream>>>(in, out, rows, cols);
  return check_launch("transpose");
}

int launch_pad(cudaStream_t stream, const float* x, float* padded, const PadShape& shape) {
  const int64_t total = shape.n * (shape.h + shape.top + shape.bottom) * (shape.w + shape.left + shape.right) * shape.c;
  if (total <= 0) return cuda_abi::kOk;
  pad_kernel<<<blocks_for(total), kBlock, 0, stream>>>(x, padded, shape, total);
  return check_launch("pad");
}

int launch_crop(cudaStream_t stream, const float* padded, float* x, const PadShape& shape) {
  const int64_t total = shape.n * shape.h * shape.w * shape.c;
  if (total <= 0) return cuda_abi::kOk;
  crop_kernel<<<blocks_for(total), kBlock, 0, stream>>>(padded, x, shape, total);
  return check_launch("crop");
}

}  // namespace kerosene::backends::cuda_impl
