#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {

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
  if (status == CUBLAS_STATUS_SUCCESS) return cuda_abi::kOk;
  return fail(cuda_abi::kError, std::string(call) + " failed: " + cublasGetStatusName(status) + ": " +
                                    cublasGetStatusString(status));
}

int check(cudnnStatus_t status, const char* call) {
  if (status == CUDNN_STATUS_SUCCESS) return cuda_abi::kOk;
  // cuDNN's status string is its enum name; the details of the last failure are separate.
  char details[512] = {0};
  cudnnGetLastErrorString(details, sizeof details);
  std::string message = std::string(call) + " failed: " + cudnnGetErrorString(status) + ": ";
  message += details[0] ? details : "(cuDNN gave no details)";
  return fail(cuda_abi::kError, std::move(message));
}

int check_launch(const char* kernel) {
  const cudaError_t error = cudaGetLastError();
  if (error == cudaSuccess) return cuda_abi::kOk;
  return fail(cuda_abi::kError, std::string("launching kernel ") + kernel + " failed: " + cudaGetErrorName(error) +
                                    ": " + cudaGetErrorString(error));
}

}  // namespace kerosene::backends::cuda_impl
