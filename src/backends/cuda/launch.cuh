// Launch shapes and warp helpers shared by the plugin's kernels. Every element-wise kernel is a
// grid-stride loop over 64-bit indices, so any element count fits a bounded grid.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace kerosene::backends::cuda_impl {

inline constexpr int kBlock = 256;
inline constexpr int kWarp = 32;
inline constexpr int kWarpsPerBlock = kBlock / kWarp;
/// Far below the grid limit (2^31 - 1); enough blocks to fill any GPU many times over.
inline constexpr int64_t kMaxBlocks = 65535;

/// Blocks for `work` items at `per_block` items per block, at least 1, at most kMaxBlocks.
inline unsigned blocks_for(int64_t work, int64_t per_block = kBlock) {
  const int64_t blocks = (work + per_block - 1) / per_block;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > kMaxBlocks ? kMaxBlocks : blocks));
}
/// Blocks for kernels that give each row one warp.
inline unsigned row_blocks(int64_t rows) { return blocks_for(rows, kWarpsPerBlock); }

__device__ __forceinline__ int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t thread_count() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }
__device__ __forceinline__ int64_t global_warp() { return global_thread() / kWarp; }
__device__ __forceinline__ int64_t warp_count() { return thread_count() / kWarp; }
__device__ __forceinline__ int lane() { return static_cast<int>(threadIdx.x % kWarp); }

// Butterfly reductions: every lane ends with the same bits (a + b == b + a in IEEE arithmetic).
__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

}  // namespace kerosene::backends::cuda_impl
