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
std::vector<PhysicalDevice> list_physical_devices(const std::string& device_type = "");

/// Logical devices of a type. Initializes the runtime: configuration is frozen afterwards.
std::vector<LogicalDevice> list_logical_devices(const std::string& device_type = "");

/// Splits `device` into one logical device per entry (e.g. two logical CPUs for mirrored
/// training on one machine). Throws RuntimeError if the runtime is already initialized (the
/// message names what initialized it), ValueError for an unknown device or an empty list.
void set_logical_device_configuration(const PhysicalDevice& device,
                                      const std::vector<LogicalDeviceConfiguration>& logical);
std::vector<LogicalDeviceConfiguration> get_logical_device_configuration(const PhysicalDevice& device);

/// Whether the runtime has been initialized, and by what (empty when not).
bool is_runtime_initialized();
std::string runtime_initialized_by();

namespace experimental {
/// Memory statistics of a logical device ("CPU:0", "/device:CPU:1", "GPU:0").
MemoryInfo get_memory_info(const std::string& device);
/// Resets the peak to the current usage.
void reset_memory_stats(const std::string& device);
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
