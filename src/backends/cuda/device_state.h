// What the plugin keeps per CUDA device: one non-blocking stream that every kernel of the device
// is queued on, the library handles bound to it, caches of descriptors and algorithms, and
// scratch buffers that grow. Created on first use of the device and kept for the life of the
// process: destroying CUDA objects from static destructors races the driver's own shutdown.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <atomic>
#include <cstddef>
#include <mutex>

#include "backends/cuda/plugin_api.h"

namespace kerosene::backends::cuda_impl {

struct MatmulCache;  // matmul.cpp
struct ConvCache;    // conv_plan.cpp

/// Device memory reused across calls; grows, never shrinks. Guarded by DeviceState::mutex.
/// Served by the core's caching allocator when init() was given InitOptions::scratch_allocate
/// (so it counts against the device's memory limit), else by cudaMalloc.
struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
};

inline constexpr int kStagingBuffers = 4;
inline constexpr size_t kStagingBytes = size_t{8} << 20;
inline constexpr int kFlagSlots = 64;

struct DeviceState {
  int device = 0;
  cudaStream_t stream = nullptr;
  /// allocate() uses cudaMallocAsync on the stream: asked for in init() and the device has pools.
  bool stream_ordered_allocator = false;

  /// Guards the handles, caches and scratch buffers below while a call queues its work: cuDNN
  /// handles must not be used by two threads at once, and a call that queues several kernels
  /// sharing one scratch buffer must not interleave with another call doing the same.
  std::mutex mutex;
  cublasHandle_t blas = nullptr;  ///< created by blas_handles()
  cublasLtHandle_t lt = nullptr;
  cudnnHandle_t dnn = nullptr;  ///< created by dnn_handle(): loading cuDNN takes a while
  MatmulCache* matmul_cache = nullptr;
  ConvCache* conv_cache = nullptr;
  Scratch lt_workspace, conv_workspace, conv_filter, conv_padded, reduce, bounce;
  /// Operands converted to 16 bits under a mixed-precision policy (matmul: a, b; conv2d: the
  /// input or dy, the filter, the 16-bit result).
  Scratch half_input, half_filter, half_output;

  /// all_finite() result slots: device ints copied to pinned host ints. A call takes the next
  /// slot without a lock, so concurrent calls (up to kFlagSlots) never share one.
  int* flags_device = nullptr;
  int* flags_host = nullptr;
  std::atomic<unsigned> next_flag{0};

  /// copy_from_host's ring of pinned buffers; each event marks when its buffer's copy is done.
  std::mutex staging_mutex;
  bool staging_tried = false;  ///< allocation attempted (it may fail: pinned memory is limited)
  bool staging_ok = false;     ///< every buffer and event exists
  void* staging[kStagingBuffers] = {};
  cudaEvent_t staging_done[kStagingBuffers] = {};
  int next_staging = 0;

  /// NCCL's stream, so gradient all-reduces run while backward goes on on `stream`:
  /// each all-reduce waits for `compute_ready` (recorded on `stream` when its bucket is
  /// complete); nccl_join makes `stream` wait for `comm_done` before the optimizer step.
  /// Created by the first nccl_all_reduce (under `mutex`).
  cudaStream_t comm_stream = nullptr;
  cudaEvent_t compute_ready = nullptr;
  cudaEvent_t comm_done = nullptr;
};

/// init(): counts devices once; later calls return the first answer (and its words).
int init_runtime(const cuda_abi::InitOptions* options, int* device_count);

/// Checks that init() succeeded and `device` exists; touches no device (creates no context).
int check_ordinal(int device);
/// Makes `device` current on this thread (checking it exists) without creating its state:
/// for calls that need no stream.
int use_device(int device);
/// Makes `device` current and returns its state, creating the stream on first use.
int acquire(int device, DeviceState** state);

/// Caller holds state.mutex. Create the handles on first use.
int blas_handles(DeviceState& state);
int dnn_handle(DeviceState& state);
/// Caller holds state.mutex. Grows `scratch` to at least `bytes`; kOutOfMemory when it cannot
/// (the device is full, or the core's allocator is at the memory limit). Waits for the stream
/// before freeing a smaller buffer that queued kernels may still read.
int reserve(DeviceState& state, Scratch& scratch, size_t bytes);

}  // namespace kerosene::backends::cuda_impl
