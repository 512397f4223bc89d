// MaxPooling2D and AveragePooling2D on NHWC data, matching backends/cpu/pooling.cpp bit for bit:
// padding never wins a max and is not counted in an average; max pooling's backward pass gives
// each window's gradient to the first position (row-major) where x equals the window's y.
//
// Own kernels rather than cuDNN's: cuDNN does not promise which of tied maxima gets the gradient.
// The backward passes gather (one thread per input element, visiting the windows that cover it
// in the CPU's window order) instead of scattering with atomics: no zeroing pass, no races, and
// the additions happen in the CPU's order.
#include <cstdint>
#include <string>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

struct Window {
  int64_t h0, h1, w0, w1;  // valid input rows [h0, h1) and columns [w0, w1)
};

__device__ __forceinline__ Window window(const Pool2DParams& p, int64_t oh, int64_t ow) {
  const int64_t h = oh * p.stride_h - p.pad_top, w = ow * p.stride_w - p.pad_left;
  return {h > 0 ? h : 0, h + p.pool_h < p.in_h ? h + p.pool_h : p.in_h, w > 0 ? w : 0,
          w + p.pool_w < p.in_w ? w + p.pool_w : p.in_w};
}

// Output rows (or columns) whose windows contain input row i: o * stride - pad <= i and
// o * stride - pad + pool > i.
struct Range {
  int64_t first, last;  // inclusive; empty when first > last
};
__device__ __forceinline__ Range covering(int64_t i, int64_t pad, int64_t pool, int64_t stride, int64_t out) {
  const int64_t low = i + pad - pool + 1;  // o * stride >= low
  const int64_t first = low <= 0 ? 0 : (low + stride - 1) / stride;
  const int64_t high = (i + pad) / stride;  // i + pad >= 0
  return {first, high < out - 1 ? high : out - 1};
}

__global__ void max_forward_kernel(Pool2DParams p, const float* x, float* y, int64_t total) {
  const int64_t C = p.channels;
  for (int64_t o = global_thread(); o < total; o += thread_count()) {
    const int64_t c = o % C, ow = (o / C) % p.out_w, oh = (o / C / p.out_w) % p.out_h, n = o / C / p.out_w / p.out_h;
    const float* xs = x + n * p.in_h * p.in_w * C + c;
    const Window win = window(p, oh, ow);
    float m = -INFINITY;
    for (int64_t ih = win.h0; ih < win.h1; ++ih) {
      for (int64_t iw = win.w0; iw < win.w1; ++iw) {
        const float v = xs[(ih * p.in_w + iw) * C];
        m = m > v ? m : v;  // _mm256_max_ps(m, v), as the CPU's vector loop
      }
    }
    y[o] = m;
  }
}

__global__ void average_forward_kernel(Pool2DParams p, const float* x, float* y, int64_t total) {
  const int64_t C = p.channels;
  for (int64_t o = global_thread(); o < total; o += thread_count()) {
    const int64_t c = o % C, ow = (o / C) % p.out_w, oh = (o / C / p.out_w) % p.out_h, n = o / C / p.out_w / p.out_h;
    const float* xs = x + n * p.in_h * p.in_w * C + c;
    const Window win = window(p, oh, ow);
    float s = 0.0f;
    for (int64_t ih = win.h0; ih < win.h1; ++ih) {
      for (int64_t iw = win.w0; iw < win.w1; ++iw) s += xs[(ih * p.in_w + iw) * C];
    }
    y[o] = s * (1.0f / static_cast<float>((win.h1 - win.h0) * (win.w1 - win.w0)));
  }
}

// dx at (n, ih, iw, c) = sum over the windows covering it, in (oh, ow) order, of hit * dy, hit = 1
// when (ih, iw) is the window's first position with x == y. Like the CPU it adds 0 * dy for the
// other windows, so a non-finite dy reaches the whole window there too.
__global__ void max_backward_kernel(Pool2DParams p, const float* x, const float* y, const float* dy, float* dx,
                                    int64_t total) {
  const int64_t C = p.channels;
  for (int64_t i = global_thread(); i < total; i += thread_count()) {
    const int64_t c = i % C, iw = (i / C) % p.in_w, ih = (i / C / p.in_w) % p.in_h, n = i / C / p.in_w / p.in_h;
    const float* xs = x + n * p.in_h * p.in_w * C + c;
    const int64_t out_base = n * p.out_h * p.out_w * C + c;
    const float self = x[i];
    const Range rows = covering(ih, p.pad_top, p.pool_h, p.stride_h, p.out_h);
    const Range cols = covering(iw, p.pad_left, p.pool_w, p.stride_w, p.out_w);
    float acc = 0.0f;
    for (int64_t oh = rows.first; oh <= rows.last; ++oh) {
      for (int64_t ow = cols.first; ow <= cols.last; ++ow) {
        const int64_t o = out_base + (oh * p.out_w + ow) * C;
        const float m = y[o];
        float hit = 0.0f;
        if (self == m) {  // the first position of the window equal to m: this one, unless an earlier one
          const Window win = window(p, oh, ow);
          hit = 1.0f;
          for (int64_t h = win.h0; h <= ih && hit != 0.0f; ++h) {
            const int64_t w_end = h < ih ? win.w1 : iw;
            for (int64_t w = win.w0; w < w_end; ++w) {
              if (xs[(h * p.in_w + w) * C] == m) {
                hit = 0.0f;
                break;
              }
            }
          }
        }
        acc += hit * dy[o];
      }
    }
    dx[i] = acc;
  }
}

__global__ void average_backward_kernel(Pool2DParams p, const float* dy, float* dx, int64_t total) {
  const int64_t C = p.channels;
  for (int64_t i = global_thread(); i < total; i += thread_count()) {
    const int64_t c = i % C, iw = (i / C) % p.in_w, ih = (i / C / p.in_w) % p.in_h, n = i / C / p.in_w / p.in_h;
    const int64_t out_base = n * p.out_h * p.out_w * C + c;
    const Range rows = covering(ih, p.pad_top, p.pool_h, p.stride_h, p.out_h);
    const Range cols = covering(iw, p.pad_left, p.pool_w, p.stride_w, p.out_w);
    float acc = 0.0f;
    for (int64_t oh = rows.first; oh <= rows.last; ++oh) {
      for (int64_t ow = cols.first; ow <= cols.last; ++ow) {
        const Window win = window(p, oh, ow);
        const float inv = 1.0f / static_cast<float>((win.h1 - win.h0) * (win.w1 - win.w0));
        acc += dy[out_base + (oh * p.out_w + ow) * C] * inv;
      }
    }
    dx[i] = acc;
  }
}

int validate(const Pool2DParams& p) {
  if (p.pool_h <= 0 || p.pool_w <= 0 || p.stride_h <= 0 || p.stride_w <= 0 || p.pad_top < 0 || p.pad_left < 0) {
    return fail(cuda_abi::kError, "pooling: pool sizes and strides must be positive and paddings non-negative");
  }
  if (p.kind != PoolKind::max && p.kind != PoolKind::average) {
    return fail(cuda_abi::kError, "pooling: unknown kind " + std::to_string(static_cast<int>(p.kind)));
  }
  return cuda_abi::kOk;
}

}  // namespace

int pool2d_forward(int device, const Pool2DParams* p, const float* x, float* y) {
  const int64_t total = p->batch * p->out_h * p->out_w * p->channels;
  if (total <= 0) return cuda_abi::kOk;
  KEROSENE_TRY(validate(*p));
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (p->kind == PoolKind::max) {
    max_forward_kernel<<<blocks_for(total), kBlock, 0, s->stream>>>(*p, x, y, total);
  } else {
    average_forward_kernel<<<blocks_for(total), kBlock, 0, s->stream>>>(*p, x, y, total);
  }
  return check_launch("pool2d_forward");
}

int pool2d_backward(int device, const Pool2DParams* p, const float* x, const float* y, const float* dy, float* dx) {
  const int64_t total = p->batch * p->in_h * p->in_w * p->channels;
  if (total <= 0) return cuda_abi::kOk;
  KEROSENE_TRY(validate(*p));
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (p->kind == PoolKind::max) {
    max_backward_kernel<<<blocks_for(total), kBlock, 0, s->stream>>>(*p, x, y, dy, dx, total);
  } else {
    average_backward_kernel<<<blocks_for(total), kBlock, 0, s->stream>>>(*p, dy, dx, total);
  }
  return check_launch("pool2d_backward");
}

}  // namespace kerosene::backends::cuda_impl
