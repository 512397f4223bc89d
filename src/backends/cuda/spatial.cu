// The copies of ZeroPadding2D, Cropping2D and UpSampling2D (SpatialCopy2DParams), as the CPU's
// backends/cpu/cpu_spatial.cpp: one thread per element written. The backward pass gathers (each
// source element sums the outputs that copied it, in the CPU's order) rather than scattering
// with atomics: no zeroing pass, no races, and the same bits as the CPU.
#include <cstdint>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

__global__ void copy_kernel(SpatialCopy2DParams p, const float* src, float* dst, int64_t total) {
  const int64_t C = p.channels;
  for (int64_t o = global_thread(); o < total; o += thread_count()) {
    const int64_t c = o % C, w = (o / C) % p.out_w, h = (o / C / p.out_w) % p.out_h, n = o / C / p.out_w / p.out_h;
    const int64_t th = h - p.offset_h, tw = w - p.offset_w;
    const bool inside = th >= 0 && tw >= 0 && th / p.repeat_h < p.in_h && tw / p.repeat_w < p.in_w;
    dst[o] = inside ? src[((n * p.in_h + th / p.repeat_h) * p.in_w + tw / p.repeat_w) * C + c] : 0.0f;
  }
}

__global__ void copy_backward_kernel(SpatialCopy2DParams p, const float* ddst, float* dsrc, int64_t total) {
  const int64_t C = p.channels;
  for (int64_t i = global_thread(); i < total; i += thread_count()) {
    const int64_t c = i % C, j = (i / C) % p.in_w, r = (i / C / p.in_w) % p.in_h, n = i / C / p.in_w / p.in_h;
    float acc = 0.0f;
    for (int64_t dh = 0; dh < p.repeat_h; ++dh) {
      const int64_t h = r * p.repeat_h + dh + p.offset_h;
      if (h < 0 || h >= p.out_h) continue;
      for (int64_t dw = 0; dw < p.repeat_w; ++dw) {
        const int64_t w = j * p.repeat_w + dw + p.offset_w;
        if (w >= 0 && w < p.out_w) acc += ddst[((n * p.out_h + h) * p.out_w + w) * C + c];
      }
    }
    dsrc[i] = acc;
  }
}

int validate(const SpatialCopy2DParams& p) {
  if (p.repeat_h > 0 && p.repeat_w > 0) return cuda_abi::kOk;
  return fail(cuda_abi::kError, "spatial copy: repeats must be positive");
}

}  // namespace

int spatial_copy2d(int device, const SpatialCopy2DParams* p, const float* src, float* dst) {
  const int64_t total = p->batch * p->out_h * p->out_w * p->channels;
  if (total <= 0) return cuda_abi::kOk;
  KEROSENE_TRY(validate(*p));
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  copy_kernel<<<blocks_for(total), kBlock, 0, s->stream>>>(*p, src, dst, total);
  return check_launch("spatial_copy2d");
}

int spatial_copy2d_backward(int device, const SpatialCopy2DParams* p, const float* ddst, float* dsrc) {
  const int64_t total = p->batch * p->in_h * p->in_w * p->channels;
  if (total <= 0) return cuda_abi::kOk;
  KEROSENE_TRY(validate(*p));
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  copy_backward_kernel<<<blocks_for(total), kBlock, 0, s->stream>>>(*p, ddst, dsrc, total);
  return check_launch("spatial_copy2d_backward");
}

}  // namespace kerosene::backends::cuda_impl
