// Conversions between float32 and the 16-bit compute types around cuBLASLt and cuDNN calls under
// a mixed-precision policy: tensors stay float32, so each call converts its operands into
// scratch memory and, where cuDNN writes a 16-bit result, widens it back.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

// Round to nearest even, as oneDNN's reorder to bf16 does on the CPU: the same operands reach
// the multiplier on both backends.
__global__ void to_bfloat16_kernel(const float* in, __nv_bfloat16* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = __float2bfloat16_rn(in[i]);
}
__global__ void to_float16_kernel(const float* in, __half* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = __float2half_rn(in[i]);
}
__global__ void from_bfloat16_kernel(const __nv_bfloat16* in, float* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = __bfloat162float(in[i]);
}
__global__ void from_float16_kernel(const __half* in, float* out, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) out[i] = __half2float(in[i]);
}

}  // namespace

int launch_to_16bit(cudaStream_t stream, const float* in, void* out, int64_t n, ComputePrecision precision) {
  if (n <= 0) return cuda_abi::kOk;
  if (precision == ComputePrecision::bfloat16) {
    to_bfloat16_kernel<<<blocks_for(n), kBlock, 0, stream>>>(in, static_cast<__nv_bfloat16*>(out), n);
  } else {
    to_float16_kernel<<<blocks_for(n), kBlock, 0, stream>>>(in, static_cast<__half*>(out), n);
  }
  return check_launch("conversion to 16 bits");
}

int launch_from_16bit(cudaStream_t stream, const void* in, float* out, int64_t n, ComputePrecision precision) {
  if (n <= 0) return cuda_abi::kOk;
  if (precision == ComputePrecision::bfloat16) {
    from_bfloat16_kernel<<<blocks_for(n), kBlock, 0, stream>>>(static_cast<const __nv_bfloat16*>(in), out, n);
  } else {
    from_float16_kernel<<<blocks_for(n), kBlock, 0, stream>>>(static_cast<const __half*>(in), out, n);
  }
  return check_launch("conversion from 16 bits");
}

}  // namespace kerosene::backends::cuda_impl
