// Reductions: bias_grad (column sums), sum (to one float on the device) and all_finite (to a
// flag on the host). Two passes through per-block partials rather than atomics, so a result
// depends only on the shape, never on scheduling: two runs give the same bits.
#include <algorithm>
#include <cstdint>

#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

constexpr int kTileCols = 32, kTileRows = 8;  // bias_grad blocks: 32 columns x 8 row lanes
constexpr int64_t kMaxRowChunks = 64;
constexpr int64_t kMinRowsPerChunk = 256;
constexpr int64_t kMaxSumBlocks = 1024;

// out[chunk, c] = sum of dy[r, c] over the rows of chunk blockIdx.y. Threads of a warp read 32
// adjacent columns of one row (coalesced); the 8 row lanes are added in a fixed order.
__global__ void column_sums_kernel(const float* dy, int64_t rows, int64_t cols, int64_t rows_per_chunk, float* out) {
  __shared__ float partial[kTileRows][kTileCols + 1];
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  for (int64_t tile = blockIdx.x; tile * kTileCols < cols; tile += gridDim.x) {
    const int64_t c = tile * kTileCols + threadIdx.x;
    float acc = 0.0f;
    if (c < cols) {
      for (int64_t r = r0 + threadIdx.y; r < r1; r += kTileRows) acc += dy[r * cols + c];
    }
    partial[threadIdx.y][threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
      float total = partial[0][threadIdx.x];
      for (int k = 1; k < kTileRows; ++k) total += partial[k][threadIdx.x];
      out[static_cast<int64_t>(blockIdx.y) * cols + c] = total;
    }
    __syncthreads();
  }
}

__global__ void sum_chunks_kernel(const float* partials, int64_t chunks, int64_t cols, float* db) {
  for (int64_t c = global_thread(); c < cols; c += thread_count()) {
    float total = partials[c];
    for (int64_t k = 1; k < chunks; ++k) total += partials[k * cols + c];
    db[c] = total;
  }
}

// Sums in double, as the CPU backend does, so long sums keep their precision.
__device__ double block_sum(double v) {
  __shared__ double warp_totals[kWarpsPerBlock];
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  if (lane() == 0) warp_totals[threadIdx.x / kWarp] = v;
  __syncthreads();
  double total = 0.0;
  if (threadIdx.x == 0) {
    for (int w = 0; w < kWarpsPerBlock; ++w) total += warp_totals[w];
  }
  return total;  // valid in thread 0
}

__global__ void partial_sums_kernel(const float* x, int64_t n, double* partials) {
  double acc = 0.0;
  for (int64_t i = global_thread(); i < n; i += thread_count()) acc += x[i];
  const double total = block_sum(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = total;
}

__global__ void final_sum_kernel(const double* partials, int64_t count, float* out) {
  double acc = 0.0;
  for (int64_t i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  const double total = block_sum(acc);
  if (threadIdx.x == 0) *out = static_cast<float>(total);
}

__global__ void nonfinite_kernel(const float* x, int64_t n, int* flag) {
  int bad = 0;
  for (int64_t i = global_thread(); i < n; i += thread_count()) bad |= !isfinite(x[i]);
  if (__syncthreads_or(bad) && threadIdx.x == 0) *flag = 1;  // every writer writes the same 1
}

}  // namespace

int bias_grad_locked(DeviceState& state, const float* dy, int64_t rows, int64_t cols, float* db) {
  if (cols <= 0) return cuda_abi::kOk;
  if (rows <= 0) {
    return check(cudaMemsetAsync(db, 0, static_cast<size_t>(cols) * sizeof(float), state.stream), "cudaMemsetAsync");
  }
  int64_t chunks = (rows + kMinRowsPerChunk - 1) / kMinRowsPerChunk;
  chunks = chunks < kMaxRowChunks ? chunks : kMaxRowChunks;
  const int64_t rows_per_chunk = (rows + chunks - 1) / chunks;
  float* out = db;
  if (chunks > 1) {
    KEROSENE_TRY(reserve(state, state.reduce, static_cast<size_t>(chunks * cols) * sizeof(float)));
    out = static_cast<float*>(state.reduce.ptr);
  }
  const dim3 grid(blocks_for(cols, kTileCols), static_cast<unsigned>(chunks));
  column_sums_kernel<<<grid, dim3(kTileCols, kTileRows), 0, state.stream>>>(dy, rows, cols, rows_per_chunk, out);
  KEROSENE_TRY(check_launch("column_sums"));
  if (chunks == 1) return cuda_abi::kOk;
  sum_chunks_kernel<<<blocks_for(cols), kBlock, 0, state.stream>>>(out, chunks, cols, db);
  return check_launch("sum_chunks");
}

int bias_grad(int device, const float* dy, int64_t rows, int64_t cols, float* db) {
  if (cols <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  return bias_grad_locked(*s, dy, rows, cols, db);
}

int sum(int device, const float* x, int64_t n, float* out) {
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (n <= 0) return check(cudaMemsetAsync(out, 0, sizeof(float), s->stream), "cudaMemsetAsync");
  const int64_t blocks = std::min<int64_t>(blocks_for(n, int64_t{kBlock} * 8), kMaxSumBlocks);
  std::lock_guard lock(s->mutex);
  KEROSENE_TRY(reserve(*s, s->reduce, static_cast<size_t>(blocks) * sizeof(double)));
  auto* partials = static_cast<double*>(s->reduce.ptr);
  partial_sums_kernel<<<static_cast<unsigned>(blocks), kBlock, 0, s->stream>>>(x, n, partials);
  KEROSENE_TRY(check_launch("partial_sums"));
  final_sum_kernel<<<1, kBlock, 0, s->stream>>>(partials, blocks, out);
  return check_launch("final_sum");
}

int all_finite(int device, const float* x, int64_t n, int* result) {
  *result = 1;
  if (n <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  {
    std::lock_guard lock(s->mutex);
    if (!s->flags_device) {
      KEROSENE_TRY(check(cudaMalloc(&s->flags_device, kFlagSlots * sizeof(int)), "cudaMalloc"));
    }
    if (!s->flags_host) {
      KEROSENE_TRY(check(cudaHostAlloc(reinterpret_cast<void**>(&s->flags_host), kFlagSlots * sizeof(int),
                                       cudaHostAllocDefault),
                         "cudaHostAlloc"));
    }
  }
  const unsigned slot = s->next_flag.fetch_add(1, std::memory_order_relaxed) % kFlagSlots;
  int* flag = s->flags_device + slot;
  KEROSENE_TRY(check(cudaMemsetAsync(flag, 0, sizeof(int), s->stream), "cudaMemsetAsync"));
  nonfinite_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(x, n, flag);
  KEROSENE_TRY(check_launch("nonfinite"));
  KEROSENE_TRY(check(cudaMemcpyAsync(s->flags_host + slot, flag, sizeof(int), cudaMemcpyDeviceToHost, s->stream),
                     "cudaMemcpyAsync"));
  KEROSENE_TRY(check(cudaStreamSynchronize(s->stream), "cudaStreamSynchronize"));
  *result = s->flags_host[slot] == 0 ? 1 : 0;
  return cuda_abi::kOk;
}

}  // namespace kerosene::backends::cuda_impl
