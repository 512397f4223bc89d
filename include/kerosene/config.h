// Device configuration with TensorFlow's names and semantics (tf.config).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kerosene/device.h"
#include "kerosene/memory.h"

namespace kerosene::config {

/// A device the machine has: name "/physical_device:CPU:0", device_type "CPU".
struct PhysicalDevice {
  std::string name;
  std::string device_type;
  friend bool operator==(const PhysicalDevice&, const PhysicalDevice&) = default;
};

/// A device the runtime exposes: name "/device:CPU:0", device_type "CPU".
struct LogicalDevice {
  std::string name;
  std::string device_type;
  friend bool operator==(const LogicalDevice&, const LogicalDevice&) = default;
};

/// One logical device carved out of a physical one.
struct LogicalDeviceConfiguration {
  std::optional<int64_t> memory_limit;  ///< in MB (MiB), as in TensorFlow; none: no cap
};

/// Physical devices of a type ("CPU", "GPU"; empty for all). Does not initialize the runtime.
/// GPUs are those the CUDA runtime shows (CUDA_VISIBLE_DEVICES applies), numbered as it does;
/// none when the CUDA plugin cannot load or finds no usable device (`kerosene doctor` says why).
std::vector<PhysicalDevice> list_physical_devices(const std::string& device_type = "");

/// Restricts the runtime to `devices` of `device_type` (empty: the types of `devices`). Hidden
/// GPUs get no logical device. The CPU cannot be hidden. Throws RuntimeError after the runtime
/// is initialized, ValueError for a device that list_physical_devices does not return.
void set_visible_devices(const std::vector<PhysicalDevice>& devices, const std::string& device_type = "");
std::vector<PhysicalDevice> get_visible_devices(const std::string& device_type = "");

/// Logical devices of a type. Initializes the runtime: configuration is frozen afterwards.
std::vector<LogicalDevice> list_logical_devices(const std::string& device_type = "");

/// Splits `device` into one logical device per entry (e.g. two logical CPUs for mirrored
/// training on one machine). Throws RuntimeError if the runtime is already initialized (the
/// message names what initialized it), ValueError for an unknown device or an empty list.
void set_logical_device_configuration(const PhysicalDevice& device,
                                      const std::vector<LogicalDeviceConfiguration>& logical);
std::vector<LogicalDeviceConfiguration> get_logical_device_configuration(const PhysicalDevice& device);

/// Where ops run when their requested device does not exist: false (the default) makes such a
/// request an error that carries the diagnosis; true runs on the CPU with a warning that says
/// where and why. Never silent either way.
void set_soft_device_placement(bool enabled);
bool get_soft_device_placement();

/// Logs (to stderr) one line per op with the device it runs on, and every copy between devices.
void set_log_device_placement(bool enabled);
bool get_log_device_placement();

/// Whether this build includes the CUDA plugin.
bool is_built_with_cuda();

/// What this build was compiled against (empty strings when built without CUDA).
struct BuildInfo {
  std::string kerosene_version;
  bool is_cuda_build = false;
  std::string cuda_version;    ///< "13.0.88"
  std::string cudnn_version;   ///< "9.19.0"
  std::string cublas_version;
  std::string nccl_version;
  std::string cuda_compute_capabilities;  ///< "sm_80 sm_90 compute_90"
  /// Multi-worker training (MultiWorkerMirroredStrategy) needs MPI: compiled in when kerosene was
  /// configured with KEROSENE_WITH_MPI=ON, or AUTO (the default) and MPI was found.
  bool is_mpi_build = false;
  std::string mpi_version;          ///< "Open MPI v4.1.4, MPI 3.1"; empty without MPI
  std::string without_mpi_reason;   ///< why there is no MPI, when there is none
  std::string onednn_version;       ///< of the oneDNN library in use, "2.6.3"
};
BuildInfo build_info();

/// Whether the runtime has been initialized, and by what (empty when not).
bool is_runtime_initialized();
std::string runtime_initialized_by();

namespace experimental {
/// Memory growth of a GPU: true (kerosene's default) reserves memory as tensors need it; false
/// reserves 90% of the device's free memory (or the logical device's memory_limit) at start-up,
/// as TensorFlow does by default. TF_FORCE_GPU_ALLOW_GROWTH=true|false overrides both.
/// Throws ValueError for a CPU or an unknown device, RuntimeError after initialization.
void set_memory_growth(const PhysicalDevice& device, bool enable);
bool get_memory_growth(const PhysicalDevice& device);

/// tf.config.experimental.get_device_details: what the device is.
struct DeviceDetails {
  std::string device_name;          ///< "NVIDIA H100 80GB HBM3"; the CPU model for a CPU
  int compute_capability_major = 0;  ///< 0 for a CPU
  int compute_capability_minor = 0;
  size_t total_memory = 0;           ///< bytes
  std::string uuid;                  ///< "GPU-..." for a GPU
  std::string pci_bus_id;
};
DeviceDetails get_device_details(const PhysicalDevice& device);

/// Memory statistics of a logical device ("CPU:0", "/device:CPU:1", "GPU:0").
MemoryInfo get_memory_info(const std::string& device);
/// Resets the peak to the current usage.
void reset_memory_stats(const std::string& device);
/// Returns the device's cached, unused memory to the device (except a pre-allocation).
void empty_cache(const std::string& device);

/// TensorFloat-32 (TF32) for float32 matmuls and convolutions on NVIDIA GPUs of compute
/// capability 8.0 (Ampere) or newer: their inputs are rounded to 10 bits of mantissa (from 23)
/// and the products summed in float32, several times faster. Enabled by default, as in
/// TensorFlow (tf.config.experimental.enable_tensor_float_32_execution); disable it for full
/// float32 precision. Read by each op when it runs, so a change applies to the next op. Only
/// float32 compute: under a mixed-precision policy the 16-bit compute dtype decides. The CPU
/// ignores it (oneDNN computes float32 in float32). NVIDIA_TF32_OVERRIDE=0 in the environment
/// (NVIDIA's switch, which cuBLAS and cuDNN also honour) turns TF32 off whatever this says;
/// tensor_float_32_execution_enabled() reports this setting only, as TensorFlow's does.
/// kerosene's test suite (NVIDIA_TF32_OVERRIDE=0, tests/tf32_off.cpp) and kerosene_op_check
/// (which calls this) run with TF32 off: they compare GPU results with the CPU's at float32
/// tolerances.
void enable_tensor_float_32_execution(bool enabled);
bool tensor_float_32_execution_enabled();
}  // namespace experimental

namespace threading {
/// Threads one op may use (0: the default, OpenMP's: OMP_NUM_THREADS, else the cores this
/// process may run on). Read when the first op runs: the CPU backend's thread team is sized
/// then; later calls can lower the number of threads an op uses, not raise it.
void set_intra_op_parallelism_threads(int num_threads);
int get_intra_op_parallelism_threads();
/// Threads that run independent ops concurrently (0: the default). Recorded for TensorFlow
/// compatibility: kerosene runs a model's ops in order, one logical device per thread, so
/// today no setting changes how it runs.
void set_inter_op_parallelism_threads(int num_threads);
int get_inter_op_parallelism_threads();
}  // namespace threading

}  // namespace kerosene::config
