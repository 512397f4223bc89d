// What the doctor's probes found on this machine: plain values, so that the checks are a pure
// function of them and tests can state any machine (a driver too old, a hidden GPU) as data.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "doctor/version.h"
#include "kerosene/doctor.h"

namespace kerosene::doctor {

/// One GPU as a probe saw it.
struct GpuDevice {
  std::string name;
  std::string uuid;  ///< "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"; empty when unknown
  int compute_major = 0, compute_minor = 0;
  size_t total_memory = 0;
  std::optional<size_t> free_memory;
};

/// A shared library the doctor tried to dlopen().
struct LibraryFacts {
  std::string soname;  ///< what was asked for, e.g. "libcudnn.so.9"
  bool loaded = false;
  std::string path;   ///< the file the dynamic loader took
  std::string error;  ///< dlerror() when not loaded; why the version is unknown when loaded
  Version version;
};

/// What kerosene was compiled with (kerosene_build_info.h).
struct BuildFacts {
  bool with_cuda = false;
  std::string without_cuda_reason;
  Version cuda, cudnn, cublas, nccl;
  std::string architectures;  ///< "sm_80 sm_90 compute_90"
  std::string plugin_dir;     ///< where this kerosene expects libkerosene_cuda.so (build or install dir)
};

/// The CUDA plugin, as the loader (backends/cuda_plugin) left it.
struct PluginFacts {
  bool loaded = false;
  std::string path;                   ///< the file loaded, or the last one tried
  std::vector<std::string> tried;     ///< every path tried, with why it was not taken
  std::string load_error;             ///< the loader's own text
  Version built_runtime;              ///< the CUDA runtime the plugin was compiled with
  Version driver;                     ///< what its runtime read from the driver (unknown: none)
  Version cublas, cudnn;              ///< the libraries it loaded
  Version built_cublas, built_cudnn;  ///< the headers it was compiled with
  std::string architectures;          ///< the kernels it carries: "sm_80 sm_90 compute_90"
  bool initialized = false;           ///< init() succeeded
  std::string init_error;             ///< the CUDA runtime's words when init() failed
  std::vector<GpuDevice> devices;     ///< as CUDA numbers them (after CUDA_VISIBLE_DEVICES)
};

/// The kernel side of the driver.
struct KernelDriverFacts {
  bool present = false;      ///< /proc/driver/nvidia/version exists
  std::string version_line;  ///< its first line ("NVRM version: ...")
  bool wsl = false;          ///< /dev/dxg exists: WSL 2, where Windows' driver serves the GPU
};

/// libcuda.so.1, the driver API.
struct DriverFacts {
  LibraryFacts library;            ///< version: the newest CUDA the driver supports (13.0)
  bool is_stub = false;            ///< the toolkit's link-time stub, not a driver
  std::optional<int> init_result;  ///< cuInit's CUresult, when it was called
  std::string init_error;          ///< "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)"
  std::vector<GpuDevice> devices;  ///< as CUDA numbers them (after CUDA_VISIBLE_DEVICES)
};

struct GpuProcess {
  unsigned pid = 0;
  std::string name;  ///< /proc/<pid>/comm, when readable
  size_t used_memory = 0;
};

/// One physical GPU as NVML sees it (NVML ignores CUDA_VISIBLE_DEVICES).
struct NvmlGpu {
  GpuDevice device;
  std::vector<std::string> mig_uuids;
  size_t used_memory = 0;
  std::vector<GpuProcess> processes;  ///< compute processes, this one excluded
};

struct NvmlFacts {
  bool loaded = false;         ///< libnvidia-ml.so.1 loaded and nvmlInit succeeded
  std::string error;           ///< why not
  std::string driver_version;  ///< "580.65.06"
  std::vector<NvmlGpu> gpus;
};

/// kerosene's own device configuration (set_visible_devices), read without initializing it.
struct KeroseneFacts {
  bool known = false;
  std::string error;                       ///< why it could not be read
  std::vector<std::string> physical_gpus;  ///< "/physical_device:GPU:0", ...
  std::vector<std::string> visible_gpus;   ///< those set_visible_devices left
};

struct Facts {
  BuildFacts build;
  PluginFacts plugin;
  KernelDriverFacts kernel_driver;
  DriverFacts driver;
  LibraryFacts cublas, cudnn, nccl;
  std::optional<std::string> cuda_visible_devices;  ///< nullopt: unset
  std::optional<std::string> plugin_override;       ///< $KEROSENE_CUDA_PLUGIN
  NvmlFacts nvml;
  KeroseneFacts kerosene;
};

/// The checks, in order, as a pure function of the facts.
std::vector<Check> run_checks(const Facts& facts);
/// The checks and the verdict they lead to.
Report diagnose(const Facts& facts);

/// Probes this machine (loads libraries, calls cuInit and nvmlInit; never initializes
/// kerosene's runtime). Slow the first time (loading cuBLAS); diagnose() caches it.
Facts probe_system();
/// Re-reads kerosene's own device configuration, which may change between diagnoses.
KeroseneFacts probe_kerosene();

}  // namespace kerosene::doctor
