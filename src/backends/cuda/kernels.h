// Launchers of the plugin's own small kernels that the library-based calls (matmul.cpp with
// cuBLAS, conv.cpp with cuDNN) need around the library call. Plain C++: no CUDA syntax, so .cpp
// files include it. Each queues on `stream`, returns a Status, and does nothing for 0 elements.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "backends/cuda/device_state.h"
#include "backends/kernel_params.h"

namespace kerosene::backends::cuda_impl {

/// y[r, c] = act((zero_first ? 0 : y[r, c]) + (bias ? bias[c] : 0)), act = relu or identity;
/// y is rows x cols.
int launch_bias_activation(cudaStream_t stream, float* y, const float* bias, int64_t rows, int64_t cols,
                           bool relu, bool zero_first);

/// out (cols x rows) = the transpose of in (rows x cols). HWIO weights are a (kh*kw*in_c) x out_c
/// matrix and cuDNN's KRSC (OHWI) weights its transpose.
int launch_transpose(cudaStream_t stream, const float* in, float* out, int64_t rows, int64_t cols);

/// 16-bit compute (precision bfloat16 or float16; precision_kernels.cu): out (n values of the
/// 16-bit type) = in rounded to nearest even, and back: out (float32) = in widened exactly.
int launch_to_16bit(cudaStream_t stream, const float* in, void* out, int64_t n, ComputePrecision precision);
int launch_from_16bit(cudaStream_t stream, const void* in, float* out, int64_t n, ComputePrecision precision);

/// NHWC images (n, h, w, c) and the same with zero borders: (n, h + top + bottom, w + left + right, c).
struct PadShape {
  int64_t n, h, w, c, top, left, bottom, right;
};
/// Writes every element of `padded`: x inside, zero on the borders.
int launch_pad(cudaStream_t stream, const float* x, float* padded, const PadShape& shape);
/// The inverse: x = the interior of `padded`.
int launch_crop(cudaStream_t stream, const float* padded, float* x, const PadShape& shape);

/// Direct convolutions in Keras' layouts (NHWC, HWIO, any padding): conv.cpp's fallback when
/// cuDNN has no algorithm for a shape. Forward applies bias and relu too; dx and dw are written.
int launch_conv_forward_direct(cudaStream_t stream, const Conv2DParams& p, const float* x, const float* w,
                               const float* bias, float* y, bool relu);
int launch_conv_backward_data_direct(cudaStream_t stream, const Conv2DParams& p, const float* dy, const float* w,
                                     float* dx);
int launch_conv_backward_filter_direct(cudaStream_t stream, const Conv2DParams& p, const float* x, const float* dy,
                                       float* dw);

/// db[c] = sum over rows of dy[r, c]. Caller holds state.mutex (uses state.reduce).
int bias_grad_locked(DeviceState& state, const float* dy, int64_t rows, int64_t cols, float* db);

}  // namespace kerosene::backends::cuda_impl
