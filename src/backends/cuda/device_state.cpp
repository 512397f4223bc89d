#include "backends/cuda/device_state.h"

#include <string>

#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

constexpr int kMaxDevices = 64;

struct Runtime {
  std::mutex mutex;
  bool initialized = false;
  int status = cuda_abi::kError;
  std::string message;
  int device_count = 0;
  std::atomic<bool> stream_ordered{false};
  decltype(cuda_abi::InitOptions::scratch_allocate) scratch_allocate = nullptr;  ///< set once, by init()
  decltype(cuda_abi::InitOptions::scratch_free) scratch_free = nullptr;
  std::atomic<bool> ready{false};  ///< init() succeeded; device_count is final
  std::atomic<DeviceState*> states[kMaxDevices] = {};
};

Runtime& runtime() {
  static Runtime* r = new Runtime;  // never destroyed: see device_state.h
  return *r;
}

int classify(cudaError_t error) {
  switch (error) {
    case cudaErrorInsufficientDriver:
    case cudaErrorStubLibrary:
    case cudaErrorSystemDriverMismatch:
    case cudaErrorCompatNotSupportedOnDevice:
      return cuda_abi::kNoDriver;
    case cudaErrorNoDevice:
      return cuda_abi::kNoDevice;
    default:
      return cuda_abi::kError;
  }
}

}  // namespace

int init_runtime(const cuda_abi::InitOptions* options, int* device_count) {
  Runtime& r = runtime();
  std::lock_guard lock(r.mutex);
  if (!r.initialized) {
    r.initialized = true;
    r.stream_ordered = options && options->stream_ordered_allocator;
    if (options && options->scratch_allocate && options->scratch_free) {
      r.scratch_allocate = options->scratch_allocate;
      r.scratch_free = options->scratch_free;
    }
    int count = 0;
    const cudaError_t error = cudaGetDeviceCount(&count);
    if (error != cudaSuccess) {
      r.status = classify(error);
      r.message = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(error) + ": " +
                  cudaGetErrorString(error);
      cudaGetLastError();  // the error is the answer, not a sticky state for later calls
    } else if (count == 0) {
      r.status = cuda_abi::kNoDevice;
      r.message = "cudaGetDeviceCount found no CUDA device";
    } else {
      r.status = cuda_abi::kOk;
      r.device_count = count < kMaxDevices ? count : kMaxDevices;
      r.ready.store(true, std::memory_order_release);
    }
  }
  if (device_count) *device_count = r.device_count;
  last_error_text() = r.message;
  return r.status;
}


int check_ordinal(int device) {
  Runtime& r = runtime();
  if (!r.ready.load(std::memory_order_acquire)) {
    std::lock_guard lock(r.mutex);
    if (!r.initialized) return fail(cuda_abi::kError, "the CUDA plugin was used before init()");
    return fail(cuda_abi::kError, "CUDA is not available: " + r.message);
  }
  if (device < 0 || device >= r.device_count) {
    return fail(cuda_abi::kError, "no CUDA device " + std::to_string(device) + ": this process sees " +
                                      std::to_string(r.device_count));
  }
  return cuda_abi::kOk;
}

int use_device(int device) {
  KEROSENE_TRY(check_ordinal(device));
  return check(cudaSetDevice(device), "cudaSetDevice");
}

int acquire(int device, DeviceState** state) {
  KEROSENE_TRY(use_device(device));
  Runtime& r = runtime();
  if (DeviceState* s = r.states[device].load(std::memory_order_acquire)) {
    *state = s;
    return cuda_abi::kOk;
  }
  std::lock_guard lock(r.mutex);
  if (DeviceState* s = r.states[device].load(std::memory_order_acquire)) {
    *state = s;
    return cuda_abi::kOk;
  }
  auto* s = new DeviceState;
  s->device = device;
  // Devices without memory pools (some virtualized ones) cannot serve cudaMallocAsync.
  int pools = 0;
  if (r.stream_ordered && cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device) == cudaSuccess) {
    s->stream_ordered_allocator = pools != 0;
  }
  cudaGetLastError();
  if (const int status = check(cudaStreamCreateWithFlags(&s->stream, cudaStreamNonBlocking),
                               "cudaStreamCreateWithFlags");
      status != cuda_abi::kOk) {
    delete s;
    return status;
  }
  r.states[device].store(s, std::memory_order_release);
  *state = s;
  return cuda_abi::kOk;
}

int blas_handles(DeviceState& state) {
  if (!state.blas) {
    cublasHandle_t handle = nullptr;
    KEROSENE_TRY(check(cublasCreate(&handle), "cublasCreate"));
    // CUBLAS_DEFAULT_MATH never uses TF32 for float: products must match the CPU's fp32.
    if (const int status = check(cublasSetStream(handle, state.stream), "cublasSetStream");
        status != cuda_abi::kOk) {
      cublasDestroy(handle);
      return status;
    }
    state.blas = handle;
  }
  if (!state.lt) KEROSENE_TRY(check(cublasLtCreate(&state.lt), "cublasLtCreate"));
  return cuda_abi::kOk;
}

int dnn_handle(DeviceState& state) {
  if (state.dnn) return cuda_abi::kOk;
  cudnnHandle_t handle = nullptr;
  KEROSENE_TRY(check(cudnnCreate(&handle), "cudnnCreate"));
  if (const int status = check(cudnnSetStream(handle, state.stream), "cudnnSetStream"); status != cuda_abi::kOk) {
    cudnnDestroy(handle);
    return status;
  }
  state.dnn = handle;
  return cuda_abi::kOk;
}

int reserve(DeviceState& state, Scratch& scratch, size_t bytes) {
  if (bytes <= scratch.bytes) return cuda_abi::kOk;
  constexpr size_t kGranule = size_t{1} << 20;  // round up so slowly growing shapes do not realloc each time
  const size_t want = (bytes + kGranule - 1) / kGranule * kGranule;
  const Runtime& r = runtime();
  if (scratch.ptr) {
    // Kernels queued with the smaller buffer may still read it.
    KEROSENE_TRY(check(cudaStreamSynchronize(state.stream), "cudaStreamSynchronize"));
    if (r.scratch_free) {
      r.scratch_free(state.device, scratch.ptr);
    } else {
      KEROSENE_TRY(check(cudaFree(scratch.ptr), "cudaFree"));
    }
    scratch.ptr = nullptr;
    scratch.bytes = 0;
  }
  if (r.scratch_allocate) {
    // The core's allocator: the memory counts against the device's limit, and its error says
    // what is in use. Null is "out of memory" (of the device or of the limit).
    char error[512] = {};
    scratch.ptr = r.scratch_allocate(state.device, want, error, sizeof error);
    if (!scratch.ptr) {
      return fail(cuda_abi::kOutOfMemory, std::to_string(want) + " bytes of scratch memory could not be had: " +
                                              (error[0] ? error : "(no reason given)"));
    }
    scratch.bytes = want;
    return cuda_abi::kOk;
  }
  const cudaError_t error = cudaMalloc(&scratch.ptr, want);
  if (error != cudaSuccess) {
    cudaGetLastError();
    scratch.ptr = nullptr;
    return fail(error == cudaErrorMemoryAllocation ? cuda_abi::kOutOfMemory : cuda_abi::kError,
                "cudaMalloc of " + std::to_string(want) + " bytes of scratch memory failed: " +
                    cudaGetErrorName(error) + ": " + cudaGetErrorString(error));
  }
  scratch.bytes = want;
  return cuda_abi::kOk;
}

}  // namespace kerosene::backends::cuda_impl
