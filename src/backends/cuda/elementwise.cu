// Element-wise kernels: fill, cast, dropout, multiply, and the bias + relu that follows a
// matmul or convolution when the library could not fuse it. Each matches cpu_elementwise.cpp.
#include <cstdint>
#include <string>
#include <type_traits>

#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"
#include "math/activations.h"
#include "math/random.h"

namespace kerosene::backends::cuda_impl {
namespace {

__global__ void fill_kernel(float* out, int64_t n, float value) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = value;
}

// Float to integer as the CPU backend's static_cast does on x86-64: cvttss2si truncates and
// gives the "integer indefinite" value (the minimum) for NaN and out-of-range input, where a
// plain CUDA conversion would saturate. uint8 takes the low byte of the 32-bit conversion.
__device__ __forceinline__ int32_t x86_to_int32(float v) {
  return (v >= -2147483648.0f && v < 2147483648.0f) ? static_cast<int32_t>(v) : INT32_MIN;
}
__device__ __forceinline__ int64_t x86_to_int64(float v) {
  return (v >= -9223372036854775808.0f && v < 9223372036854775808.0f) ? static_cast<int64_t>(v) : INT64_MIN;
}

template <typename In, typename Out>
__device__ __forceinline__ Out convert(In v, float scale) {
  if constexpr (std::is_same_v<Out, float>) {
    return static_cast<float>(v) * scale;  // scale applies only when the output is float32
  } else if constexpr (std::is_same_v<In, float>) {
    if constexpr (std::is_same_v<Out, int64_t>) {
      return x86_to_int64(v);
    } else {
      return static_cast<Out>(x86_to_int32(v));
    }
  } else {
    return static_cast<Out>(v);
  }
}

template <typename In, typename Out>
__global__ void cast_kernel(const In* in, Out* out, int64_t n, float scale) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = convert<In, Out>(in[i], scale);
}

template <typename In, typename Out>
int launch_cast(cudaStream_t stream, const void* in, void* out, int64_t n, float scale) {
  cast_kernel<In, Out><<<blocks_for(n), kBlock, 0, stream>>>(static_cast<const In*>(in), static_cast<Out*>(out), n,
                                                               scale);
  return check_launch("cast");
}

template <typename In>
int cast_from(cudaStream_t stream, const void* in, void* out, DType out_dtype, int64_t n, float scale) {
  switch (out_dtype) {
    case DType::float32: return launch_cast<In, float>(stream, in, out, n, scale);
    case DType::int32: return launch_cast<In, int32_t>(stream, in, out, n, scale);
    case DType::int64: return launch_cast<In, int64_t>(stream, in, out, n, scale);
    case DType::uint8: return launch_cast<In, uint8_t>(stream, in, out, n, scale);
  }
  return fail(cuda_abi::kError, "cast: unknown output dtype " + std::to_string(static_cast<int>(out_dtype)));
}

// One Philox block of four words per thread and four elements: element i takes word i % 4 of
// the block at counter offset + i / 4, exactly as the CPU backend indexes the stream.
__global__ void dropout_kernel(const float* x, float* mask, float* y, int64_t n, float rate, float keep_scale,
                               uint64_t seed, uint64_t offset) {
  const int64_t groups = (n + 3) / 4;
  for (int64_t g = global_thread(); g < groups; g += thread_count()) {
    const math::Philox4 r = math::philox(seed, offset + static_cast<uint64_t>(g));
    const int64_t i = g * 4;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      if (i + k < n) {
        const float m = math::uniform_from_bits(r.v[k]) >= rate ? keep_scale : 0.0f;
        mask[i + k] = m;
        y[i + k] = x[i + k] * m;
      }
    }
  }
}

__global__ void multiply_kernel(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = a[i] * b[i];
}

__global__ void scale_rows_kernel(const float* x, const float* w, float* out, int64_t n, int64_t cols) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = x[i] * w[i / cols];
}

__global__ void bias_activation_kernel(float* y, const float* bias, int64_t n, int64_t cols, bool relu,
                                       bool zero_first) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    float v = zero_first ? 0.0f : y[i];
    if (bias) v += bias[i % cols];
    y[i] = relu ? math::relu(v) : v;
  }
}

}  // namespace

int fill(int device, float* out, int64_t n, float value) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  fill_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(out, n, value);
  return check_launch("fill");
}

int cast(int device, const void* in, DType in_dtype, void* out, DType out_dtype, int64_t n, float scale) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  switch (in_dtype) {
    case DType::float32: return cast_from<float>(s->stream, in, out, out_dtype, n, scale);
    case DType::int32: return cast_from<int32_t>(s->stream, in, out, out_dtype, n, scale);
    case DType::int64: return cast_from<int64_t>(s->stream, in, out, out_dtype, n, scale);
    case DType::uint8: return cast_from<uint8_t>(s->stream, in, out, out_dtype, n, scale);
  }
  return fail(cuda_abi::kError, "cast: unknown input dtype " + std::to_string(static_cast<int>(in_dtype)));
}

int dropout_forward(int device, const float* x, float* mask, float* y, int64_t n, float rate, uint64_t seed,
                    uint64_t offset) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const float keep_scale = 1.0f / (1.0f - rate);  // the CPU's expression, so the same bits
  dropout_kernel<<<blocks_for((n + 3) / 4), kBlock, 0, s->stream>>>(x, mask, y, n, rate, keep_scale, seed, offset);
  return check_launch("dropout");
}

int multiply(int device, const float* a, const float* b, float* out, int64_t n) {
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  multiply_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(a, b, out, n);
  return check_launch("multiply");
}

int scale_rows(int device, const float* x, const float* w, float* out, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  scale_rows_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(x, w, out, n, cols);
  return check_launch("scale_rows");
}

int launch_bias_activation(cudaStream_t stream, float* y, const float* bias, int64_t rows, int64_t cols, bool relu,
                           bool zero_first) {
  const int64_t n = rows * cols;
  if (n <= 0) return cuda_abi::kOk;
  bias_activation_kernel<<<blocks_for(n), kBlock, 0, stream>>>(y, bias, n, cols, relu, zero_first);
  return check_launch("bias_activation");
}

}  // namespace kerosene::backends::cuda_impl
