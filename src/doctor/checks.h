// The doctor's checks, one function each, every one a pure function of the facts (and of the
// earlier checks it depends on). run_checks() (checks.cpp) calls them in order.
#pragma once

#include <string>
#include <vector>

#include "doctor/facts.h"

namespace kerosene::doctor::checks {

// Check names, which tests and scripts may rely on.
inline constexpr const char* kBuiltWithCuda = "kerosene built with CUDA";
inline constexpr const char* kPluginLoads = "CUDA plugin loads";
inline constexpr const char* kKernelDriver = "NVIDIA kernel driver";
inline constexpr const char* kDriverLibrary = "libcuda.so.1 (driver library)";
inline constexpr const char* kDriverSupportsRuntime = "driver supports the CUDA runtime";
inline constexpr const char* kCublas = "cuBLAS";
inline constexpr const char* kCudnn = "cuDNN";
inline constexpr const char* kNccl = "NCCL";
inline constexpr const char* kVisibleDevices = "CUDA_VISIBLE_DEVICES";
inline constexpr const char* kGpusFound = "GPUs found";
inline constexpr const char* kVisibleToKerosene = "visible to kerosene";
inline constexpr const char* kKernelsCover = "kernels cover the GPUs";
inline constexpr const char* kMemoryHeld = "GPU memory held by other processes";

Check pass(const char* name, std::string detail);
Check warn(const char* name, std::string detail, std::string fix);
Check fail(const char* name, std::string detail, std::string reason, std::string fix);
/// A check that cannot run because `dependency` did not pass, or for the reason `because`.
Check skip(const char* name, std::string because);
Check skip_after(const char* name, const Check& dependency);

// checks_software.cpp: the build, the plugin, the driver and the libraries.
Check built_with_cuda(const Facts& facts);
Check plugin_loads(const Facts& facts, const Check& built);
Check kernel_driver(const Facts& facts);
Check driver_library(const Facts& facts);
Check driver_supports_runtime(const Facts& facts, const Check& driver_library);
// checks_libraries.cpp
Check cublas(const Facts& facts);
Check cudnn(const Facts& facts);
Check nccl(const Facts& facts);
// checks_devices.cpp: what the devices are and who may use them.
Check cuda_visible_devices(const Facts& facts);
Check gpus_found(const Facts& facts, const Check& driver_library);
Check visible_to_kerosene(const Facts& facts, const Check& gpus_found);
Check kernels_cover(const Facts& facts, const Check& gpus_found);
Check memory_held_by_others(const Facts& facts);

/// The GPUs as CUDA numbers them, with free memory filled in from the plugin or NVML.
std::vector<GpuDevice> cuda_devices(const Facts& facts);

}  // namespace kerosene::doctor::checks
