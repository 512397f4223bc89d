// Device memory and copies. Host-to-device copies go through a small ring of pinned buffers, so
// they return as soon as the source is consumed, without waiting for the kernels queued before
// them (a plain cudaMemcpyAsync from pageable memory synchronizes the stream first).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "backends/cuda/device_state.h"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

// Caller holds state.staging_mutex. False when pinned memory could not be had (page-locked
// memory is limited); the copies then go the slower way.
bool staging_ready(DeviceState& state) {
  if (state.staging_tried) return state.staging_ok;
  state.staging_tried = true;
  for (int i = 0; i < kStagingBuffers; ++i) {
    if (cudaHostAlloc(&state.staging[i], kStagingBytes, cudaHostAllocDefault) != cudaSuccess ||
        cudaEventCreateWithFlags(&state.staging_done[i], cudaEventDisableTiming) != cudaSuccess) {
      cudaGetLastError();
      return false;  // what was made is kept (and unused): this path runs once per device
    }
  }
  state.staging_ok = true;
  return true;
}

bool overlap(const void* a, const void* b, size_t bytes) {
  const auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return x < y + bytes && y < x + bytes;
}

}  // namespace

int allocate(int device, size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (bytes == 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const cudaError_t error = s->stream_ordered_allocator ? cudaMallocAsync(ptr, bytes, s->stream)
                                                        : cudaMalloc(ptr, bytes);
  if (error == cudaSuccess) return cuda_abi::kOk;
  *ptr = nullptr;
  cudaGetLastError();  // out of memory is an answer, not a sticky error for the next call
  const char* call = s->stream_ordered_allocator ? "cudaMallocAsync" : "cudaMalloc";
  return fail(error == cudaErrorMemoryAllocation ? cuda_abi::kOutOfMemory : cuda_abi::kError,
              std::string(call) + " of " + std::to_string(bytes) + " bytes failed: " + cudaGetErrorName(error) +
                  ": " + cudaGetErrorString(error));
}

int deallocate(int device, void* ptr) {
  if (!ptr) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (s->stream_ordered_allocator) return check(cudaFreeAsync(ptr, s->stream), "cudaFreeAsync");
  return check(cudaFree(ptr), "cudaFree");  // waits for the device, so queued kernels finish first
}

int copy_from_host(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->staging_mutex);
  if (!staging_ready(*s)) {
    // Returns once the pageable source has been read, which is what the contract asks.
    return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s->stream), "cudaMemcpyAsync");
  }
  for (size_t done = 0; done < bytes;) {
    const size_t chunk = std::min(kStagingBytes, bytes - done);
    const int slot = s->next_staging;
    s->next_staging = (slot + 1) % kStagingBuffers;
    // The buffer's previous copy must have left it before it is overwritten.
    KEROSENE_TRY(check(cudaEventSynchronize(s->staging_done[slot]), "cudaEventSynchronize"));
    std::memcpy(s->staging[slot], static_cast<const char*>(src) + done, chunk);
    KEROSENE_TRY(check(cudaMemcpyAsync(static_cast<char*>(dst) + done, s->staging[slot], chunk,
                                       cudaMemcpyHostToDevice, s->stream),
                       "cudaMemcpyAsync"));
    KEROSENE_TRY(check(cudaEventRecord(s->staging_done[slot], s->stream), "cudaEventRecord"));
    done += chunk;
  }
  return cuda_abi::kOk;
}

int copy_to_host(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  KEROSENE_TRY(check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s->stream), "cudaMemcpyAsync"));
  return check(cudaStreamSynchronize(s->stream), "cudaStreamSynchronize");
}

int copy_on_device(int device, void* dst, const void* src, size_t bytes) {
  if (bytes == 0 || dst == src) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (!overlap(dst, src, bytes)) {
    return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s->stream), "cudaMemcpyAsync");
  }
  // cudaMemcpy does not define overlapping copies; the CPU backend's memmove does. Bounce.
  std::lock_guard lock(s->mutex);
  KEROSENE_TRY(reserve(*s, s->bounce, bytes));
  KEROSENE_TRY(check(cudaMemcpyAsync(s->bounce.ptr, src, bytes, cudaMemcpyDeviceToDevice, s->stream),
                     "cudaMemcpyAsync"));
  return check(cudaMemcpyAsync(dst, s->bounce.ptr, bytes, cudaMemcpyDeviceToDevice, s->stream), "cudaMemcpyAsync");
}

int host_alloc(size_t bytes, void** ptr) {
  *ptr = nullptr;
  if (bytes == 0) return cuda_abi::kOk;
  // Portable: pinned for every device's copies, not only the current one's.
  const cudaError_t error = cudaHostAlloc(ptr, bytes, cudaHostAllocPortable);
  if (error == cudaSuccess) return cuda_abi::kOk;
  *ptr = nullptr;
  cudaGetLastError();
  return fail(error == cudaErrorMemoryAllocation ? cuda_abi::kOutOfMemory : cuda_abi::kError,
              "cudaHostAlloc of " + std::to_string(bytes) + " bytes of pinned memory failed: " +
                  cudaGetErrorName(error) + ": " + cudaGetErrorString(error));
}

int host_free(void* ptr) { return ptr ? check(cudaFreeHost(ptr), "cudaFreeHost") : cuda_abi::kOk; }

int copy_from_pinned(int device, void* dst, const void* src, size_t bytes, void** fence) {
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (!*fence) {
    cudaEvent_t event = nullptr;
    KEROSENE_TRY(check(cudaEventCreateWithFlags(&event, cudaEventDisableTiming), "cudaEventCreateWithFlags"));
    *fence = event;
  }
  // On the compute stream, not a copy stream: dst (the batch tensor) is still read by kernels
  // queued before, so the copy must follow them; the host is not held up by that (no staging,
  // no wait here), which is what lets it gather the next batch meanwhile.
  if (bytes) {
    KEROSENE_TRY(check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s->stream), "cudaMemcpyAsync"));
  }
  return check(cudaEventRecord(static_cast<cudaEvent_t>(*fence), s->stream), "cudaEventRecord");
}

int fence_wait(void* fence) {
  return fence ? check(cudaEventSynchronize(static_cast<cudaEvent_t>(fence)), "cudaEventSynchronize") : cuda_abi::kOk;
}

int fence_destroy(void* fence) {
  return fence ? check(cudaEventDestroy(static_cast<cudaEvent_t>(fence)), "cudaEventDestroy") : cuda_abi::kOk;
}

int synchronize(int device) {
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  return check(cudaStreamSynchronize(s->stream), "cudaStreamSynchronize");
}

}  // namespace kerosene::backends::cuda_impl
