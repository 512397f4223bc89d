// Direct convolution kernels: the fallback when cuDNN offers no algorithm for a shape (or a
// dimension exceeds its int). Plain loops in Keras' layouts (NHWC, HWIO) with the padding as
// given, asymmetric or not, any dilation and any groups (kernel (kh, kw, in_c / groups, out_c);
// output channel o reads the input channels of its group, o / (out_c / groups)); slower than
// cuDNN, never wrong. Each output element is one sum, computed by one thread (forward, backward
// data) or one block (backward filter).
#include <cstdint>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/status.h"
#include "math/activations.h"

namespace kerosene::backends::cuda_impl {
namespace {

__global__ void forward_kernel(Conv2DParams p, const float* x, const float* w, const float* bias, float* y, bool relu,
                               int64_t total) {
  const int64_t C = p.in_c, K = p.out_c, Cg = C / p.groups, Kg = K / p.groups;
  for (int64_t idx = global_thread(); idx < total; idx += thread_count()) {
    const int64_t o = idx % K, ow = (idx / K) % p.out_w, oh = (idx / K / p.out_w) % p.out_h;
    const int64_t n = idx / K / p.out_w / p.out_h;
    const int64_t first_in = o / Kg * Cg;  // the group's first input channel
    float acc = 0.0f;
    for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
      const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
      if (ih < 0 || ih >= p.in_h) continue;
      for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
        const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
        if (iw < 0 || iw >= p.in_w) continue;
        const float* xp = x + ((n * p.in_h + ih) * p.in_w + iw) * C + first_in;
        const float* wp = w + (kh * p.kernel_w + kw) * Cg * K + o;
        for (int64_t i = 0; i < Cg; ++i) acc += xp[i] * wp[i * K];
      }
    }
    if (bias) acc += bias[o];
    y[idx] = relu ? math::relu(acc) : acc;
  }
}

// dx[n, h, w, i] = sum of dy[n, oh, ow, o] w[kh, kw, i, o] over the (oh, kh) with
// oh * stride - pad + kh * dilation = h (likewise for columns), o in i's group.
__global__ void backward_data_kernel(Conv2DParams p, const float* dy, const float* w, float* dx, int64_t total) {
  const int64_t C = p.in_c, K = p.out_c, Cg = C / p.groups, Kg = K / p.groups;
  for (int64_t idx = global_thread(); idx < total; idx += thread_count()) {
    const int64_t i = idx % C, iw = (idx / C) % p.in_w, ih = (idx / C / p.in_w) % p.in_h;
    const int64_t n = idx / C / p.in_w / p.in_h;
    const int64_t first_out = i / Cg * Kg;  // the group's first output channel
    float acc = 0.0f;
    for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
      const int64_t th = ih + p.pad_top - kh * p.dilation_h;
      if (th < 0 || th % p.stride_h != 0 || th / p.stride_h >= p.out_h) continue;
      const int64_t oh = th / p.stride_h;
      for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
        const int64_t tw = iw + p.pad_left - kw * p.dilation_w;
        if (tw < 0 || tw % p.stride_w != 0 || tw / p.stride_w >= p.out_w) continue;
        const int64_t ow = tw / p.stride_w;
        const float* g = dy + ((n * p.out_h + oh) * p.out_w + ow) * K + first_out;
        const float* wp = w + ((kh * p.kernel_w + kw) * Cg + i % Cg) * K + first_out;
        for (int64_t o = 0; o < Kg; ++o) acc += g[o] * wp[o];
      }
    }
    dx[idx] = acc;
  }
}

// dw[kh, kw, j, o] = sum over (n, oh, ow) of x[n, ih, iw, i] dy[n, oh, ow, o], where i is the
// j-th input channel of o's group: a block per element, its threads splitting the positions,
// added in a fixed order.
__global__ void backward_filter_kernel(Conv2DParams p, const float* x, const float* dy, float* dw, int64_t total) {
  __shared__ float warp_totals[kWarpsPerBlock];
  const int64_t C = p.in_c, K = p.out_c, Cg = C / p.groups, Kg = K / p.groups;
  const int64_t positions = p.batch * p.out_h * p.out_w;
  for (int64_t e = blockIdx.x; e < total; e += gridDim.x) {
    const int64_t o = e % K, kw = (e / K / Cg) % p.kernel_w, kh = e / K / Cg / p.kernel_w;
    const int64_t i = o / Kg * Cg + (e / K) % Cg;
    float acc = 0.0f;
    for (int64_t r = threadIdx.x; r < positions; r += blockDim.x) {
      const int64_t ow = r % p.out_w, oh = (r / p.out_w) % p.out_h, n = r / p.out_w / p.out_h;
      const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
      const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
      if (ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w) {
        acc += x[((n * p.in_h + ih) * p.in_w + iw) * C + i] * dy[r * K + o];
      }
    }
    acc = warp_sum(acc);
    if (lane() == 0) warp_totals[threadIdx.x / kWarp] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
      float sum = 0.0f;
      for (int k = 0; k < kWarpsPerBlock; ++k) sum += warp_totals[k];
      dw[e] = sum;
    }
    __syncthreads();  // warp_totals is reused by the next element
  }
}

}  // namespace

int launch_conv_forward_direct(cudaStream_t stream, const Conv2DParams& p, const float* x, const float* w,
                               const float* bias, float* y, bool relu) {
  const int64_t total = p.batch * p.out_h * p.out_w * p.out_c;
  if (total <= 0) return cuda_abi::kOk;
  forward_kernel<<<blocks_for(total), kBlock, 0, stream>>>(p, x, w, bias, y, relu, total);
  return check_launch("conv_forward_direct");
}

int launch_conv_backward_data_direct(cudaStream_t stream, const Conv2DParams& p, const float* dy, const float* w,
                                     float* dx) {
  const int64_t total = p.batch * p.in_h * p.in_w * p.in_c;
  if (total <= 0) return cuda_abi::kOk;
  backward_data_kernel<<<blocks_for(total), kBlock, 0, stream>>>(p, dy, w, dx, total);
  return check_launch("conv_backward_data_direct");
}

int launch_conv_backward_filter_direct(cudaStream_t stream, const Conv2DParams& p, const float* x, const float* dy,
                                       float* dw) {
  const int64_t total = p.kernel_h * p.kernel_w * (p.in_c / p.groups) * p.out_c;
  if (total <= 0) return cuda_abi::kOk;
  backward_filter_kernel<<<blocks_for(total, 1), kBlock, 0, stream>>>(p, x, dy, dw, total);
  return check_launch("conv_backward_filter_direct");
}

}  // namespace kerosene::backends::cuda_impl
