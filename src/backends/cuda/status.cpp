#include "backends/cuda/status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>

namespace kerosene::backends::cuda_impl {
namespace {

// Kernels fail asynchronously: a fault is reported by whichever later call happens to wait.
// KEROSENE_CUDA_SYNC=1 waits for the device after every launch and library call, so the fault
// is reported against the call that queued it (slow: for debugging, and for gpu_check.sh).
int synchronize_and_check(const char* what) {
  const cudaError_t error = cudaDeviceSynchronize();
  if (error == cudaSuccess) return cuda_abi::kOk;
  cudaGetLastError();
  return fail(cuda_abi::kError, std::string(what) + " failed while running on the device (KEROSENE_CUDA_SYNC=1): " +
                                    cudaGetErrorName(error) + ": " + cudaGetErrorString(error));
}

}  // namespace

int check_queued(const char* what) {
  return sync_after_every_launch() ? synchronize_and_check(what) : cuda_abi::kOk;
}

namespace {
bool print_once(const std::string& text) {
  static auto* mutex = new std::mutex;               // never destroyed: see device_state.h
  static auto* printed = new std::set<std::string>;
  std::lock_guard lock(*mutex);
  if (!printed->insert(text).second) return false;
  std::fprintf(stderr, "kerosene: %s\n", text.c_str());
  return true;
}
}  // namespace

void log_once(const std::string& text) { print_once(text); }

bool note_paths() {
  static const bool on = [] {
    const char* value = std::getenv("KEROSENE_CUDA_PATHS");
    return value && *value && std::strcmp(value, "0") != 0;
  }();
  return on;
}

void note_path(const std::string& text) {
  if (note_paths()) print_once("path: " + text);
}

bool sync_after_every_launch() {
  static const bool on = [] {
    const char* value = std::getenv("KEROSENE_CUDA_SYNC");
    return value && *value && std::strcmp(value, "0") != 0;
  }();
  return on;
}

std::string& last_error_text() {
  thread_local std::string text;
  return text;
}

int fail(int status, std::string message) {
  last_error_text() = std::move(message);
  return status;
}

int check(cudaError_t error, const char* call) {
  if (error == cudaSuccess) return cuda_abi::kOk;
  // A failed call also leaves its error for cudaGetLastError: clear it, or the next
  // check_launch on this thread would report it as that kernel's failure.
  cudaGetLastError();
  return fail(cuda_abi::kError, std::string(call) + " failed: " + cudaGetErrorName(error) + ": " +
                                    cudaGetErrorString(error));
}

int check(cublasStatus_t status, const char* call) {
  if (status == CUBLAS_STATUS_SUCCESS) return sync_after_every_launch() ? synchronize_and_check(call) : cuda_abi::kOk;
  return fail(cuda_abi::kError, std::string(call) + " failed: " + cublasGetStatusName(status) + ": " +
                                    cublasGetStatusString(status));
}

int check(cudnnStatus_t status, const char* call) {
  if (status == CUDNN_STATUS_SUCCESS) return sync_after_every_launch() ? synchronize_and_check(call) : cuda_abi::kOk;
  // cuDNN's status string is its enum name; the details of the last failure are separate.
  char details[512] = {0};
  cudnnGetLastErrorString(details, sizeof details);
  std::string message = std::string(call) + " failed: " + cudnnGetErrorString(status) + ": ";
  message += details[0] ? details : "(cuDNN gave no details)";
  return fail(cuda_abi::kError, std::move(message));
}

int check_launch(const char* kernel) {
  const cudaError_t error = cudaGetLastError();
  if (error == cudaSuccess) {
    return sync_after_every_launch() ? synchronize_and_check((std::string("kernel ") + kernel).c_str()) : cuda_abi::kOk;
  }
  return fail(cuda_abi::kError, std::string("launching kernel ") + kernel + " failed: " + cudaGetErrorName(error) +
                                    ": " + cudaGetErrorString(error));
}

}  // namespace kerosene::backends::cuda_impl
