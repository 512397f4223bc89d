// The plugin's one exported symbol and its table, plus what describes the installation and the
// devices: versions (works with no driver and no device), init, device_info, mem_get_info.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <library_types.h>

#include <cctype>
#include <cstdio>
#include <cstring>

#include "backends/cuda/device_state.h"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

#ifndef KEROSENE_CUDA_ARCHITECTURES_TEXT
#define KEROSENE_CUDA_ARCHITECTURES_TEXT ""  // cmake/cuda_plugin.cmake defines it
#endif

namespace kerosene::backends::cuda_impl {
namespace {

void copy_text(char* dst, size_t size, const char* src) {
  std::snprintf(dst, size, "%s", src ? src : "");
}

}  // namespace

const char* last_error() { return last_error_text().c_str(); }

void versions(Versions* out) {
  *out = Versions{};
  out->built_cuda_runtime = CUDART_VERSION;
  out->built_cublas = CUBLAS_VERSION;
  out->built_cudnn = CUDNN_VERSION;
  // Neither call needs a driver: with none, cudaDriverGetVersion reports 0.
  if (cudaRuntimeGetVersion(&out->runtime) != cudaSuccess) out->runtime = 0;
  if (cudaDriverGetVersion(&out->driver) != cudaSuccess) out->driver = 0;
  cudaGetLastError();
  int major = 0, minor = 0, patch = 0;
  if (cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS &&
      cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS) {
    out->cublas = major * 10000 + minor * 100 + patch;
  }
  out->cudnn = static_cast<int>(cudnnGetVersion());
  copy_text(out->architectures, sizeof out->architectures, KEROSENE_CUDA_ARCHITECTURES_TEXT);
}

int init(const InitOptions* options, int* device_count) { return init_runtime(options, device_count); }

// Discovery creates no CUDA context: every query here reads the device's properties through
// the driver without one. cudaSetDevice (which creates the primary context since CUDA 12) and
// cudaMemGetInfo (which needs one) would make every kerosene process, doctor and CPU-only runs
// included, hold memory on every GPU, and fail on a GPU busy in exclusive-process mode.
int device_info(int device, DeviceInfo* out) {
  *out = DeviceInfo{};
  KEROSENE_TRY(check_ordinal(device));
  cudaDeviceProp prop{};
  KEROSENE_TRY(check(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties"));
  copy_text(out->name, sizeof out->name, prop.name);
  const auto* u = reinterpret_cast<const unsigned char*>(prop.uuid.bytes);
  std::snprintf(out->uuid, sizeof out->uuid,
                "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3],
                u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
  KEROSENE_TRY(check(cudaDeviceGetPCIBusId(out->pci_bus_id, sizeof out->pci_bus_id, device), "cudaDeviceGetPCIBusId"));
  // Lower case, as sysfs names the device (/sys/bus/pci/devices/0000:3b:00.0).
  for (char* c = out->pci_bus_id; *c; ++c) *c = static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
  out->compute_major = prop.major;
  out->compute_minor = prop.minor;
  out->multiprocessor_count = prop.multiProcessorCount;
  out->total_memory = prop.totalGlobalMem;
  out->free_memory = 0;  // not read: see above; mem_get_info() reads it once the device is in use
  return cuda_abi::kOk;
}

int mem_get_info(int device, size_t* free_bytes, size_t* total_bytes) {
  KEROSENE_TRY(use_device(device));
  return check(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

namespace {

// Designated: a field in the wrong place does not compile.
const cuda_abi::Plugin kPlugin = {
    .abi_version = cuda_abi::kAbiVersion,
    .last_error = last_error,
    .versions = versions,
    .init = init,
    .device_info = device_info,
    .mem_get_info = mem_get_info,
    .allocate = allocate,
    .deallocate = deallocate,
    .copy_from_host = copy_from_host,
    .copy_to_host = copy_to_host,
    .copy_on_device = copy_on_device,
    .synchronize = synchronize,
    .host_alloc = host_alloc,
    .host_free = host_free,
    .copy_from_pinned = copy_from_pinned,
    .fence_wait = fence_wait,
    .fence_destroy = fence_destroy,
    .fill = fill,
    .cast = cast,
    .activation_forward = activation_forward,
    .activation_backward = activation_backward,
    .dropout_forward = dropout_forward,
    .multiply = multiply,
    .scale_rows = scale_rows,
    .matmul = matmul,
    .bias_grad = bias_grad,
    .conv2d_forward = conv2d_forward,
    .conv2d_backward_data = conv2d_backward_data,
    .conv2d_backward_weights = conv2d_backward_weights,
    .pool2d_forward = pool2d_forward,
    .pool2d_backward = pool2d_backward,
    .batch_norm_forward = batch_norm_forward,
    .batch_norm_backward = batch_norm_backward,
    .batch_norm_sums = batch_norm_sums,
    .batch_norm_forward_from_sums = batch_norm_forward_from_sums,
    .batch_norm_backward_from_sums = batch_norm_backward_from_sums,
    .layer_norm_forward = layer_norm_forward,
    .layer_norm_backward = layer_norm_backward,
    .loss = loss,
    .metric = metric,
    .metric_counts = metric_counts,
    .sum = sum,
    .all_finite = all_finite,
    .axpby = axpby,
    .minmax = minmax,
    .minmax_backward = minmax_backward,
    .copy_block = copy_block,
    .spatial_copy2d = spatial_copy2d,
    .spatial_copy2d_backward = spatial_copy2d_backward,
    .sgd_update = sgd_update,
    .adam_update = adam_update,
    .rmsprop_update = rmsprop_update,
    .optimizer_update = optimizer_update,
    .nccl_version = nccl_version,
    .nccl_unique_id = nccl_unique_id,
    .nccl_comm_init_all = nccl_comm_init_all,
    .nccl_comm_init_rank = nccl_comm_init_rank,
    .nccl_all_reduce = nccl_all_reduce,
    .nccl_group_start = nccl_group_start,
    .nccl_group_end = nccl_group_end,
    .nccl_comm_destroy = nccl_comm_destroy,
    .nccl_comm_abort = nccl_comm_abort,
    .nccl_join = nccl_join,
};

}  // namespace
}  // namespace kerosene::backends::cuda_impl

extern "C" __attribute__((visibility("default"))) const kerosene::backends::cuda_abi::Plugin* kerosene_cuda_plugin(
    int abi_version) {
  if (abi_version != kerosene::backends::cuda_abi::kAbiVersion) return nullptr;
  return &kerosene::backends::cuda_impl::kPlugin;
}
