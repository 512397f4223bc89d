// Errors of the plugin: every failing CUDA, cuBLAS or cuDNN call becomes a Status (plugin_api.h)
// plus words in a thread-local string that last_error() hands to the core, so the core can name
// the call and the library's own reason in the exception it raises.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <string>

#include "backends/cuda/plugin_api.h"

namespace kerosene::backends::cuda_impl {

using cuda_abi::Status;

/// The words of the last failure on this thread ("" when none).
std::string& last_error_text();

/// Records `message` as this thread's last error and returns `status`.
int fail(int status, std::string message);

/// Ok, or kError with "<call> failed: <error name>: <error string>".
int check(cudaError_t error, const char* call);
int check(cublasStatus_t status, const char* call);
int check(cudnnStatus_t status, const char* call);

/// A failed kernel launch leaves its error for cudaGetLastError; `kernel` names it. With
/// KEROSENE_CUDA_SYNC=1, also waits for the device, so a fault in the kernel is reported here.
int check_launch(const char* kernel);
/// "kerosene: <text>" on stderr, the first time only (fallbacks: never silent, never repeated).
void log_once(const std::string& text);
/// KEROSENE_CUDA_PATHS is set (and not "0"): read once. Callers test it before building the
/// text, which the hot path must not pay for.
bool note_paths();
/// With KEROSENE_CUDA_PATHS=1, log_once("path: <text>"): which library path ran (cuDNN's
/// algorithm, cuBLASLt or cublasSgemm), for gpu_check.sh's report.
void note_path(const std::string& text);
/// KEROSENE_CUDA_SYNC is set (and not "0"): read once.
bool sync_after_every_launch();
/// After a library call that queued work (cublasLtMatmul, a cuDNN convolution): Ok, or with
/// KEROSENE_CUDA_SYNC=1 the device's fault named after `what`.
int check_queued(const char* what);

}  // namespace kerosene::backends::cuda_impl

/// Returns from the calling function when `expr` (an int Status) is not kOk.
#define KEROSENE_TRY(expr)                                                         \
  do {                                                                             \
    if (const int kerosene_status_ = (expr); kerosene_status_ != ::kerosene::backends::cuda_abi::kOk) \
      return kerosene_status_;                                                     \
  } while (0)
