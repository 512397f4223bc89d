// The runtime: physical devices (the CPU, and the GPUs the CUDA plugin finds), their
// visibility, memory policy and logical configuration, and one DeviceContext (backend,
// caching allocator, worker thread) per logical device.
//
// Configuration may change until the runtime is initialized — by the first tensor, model or
// list_logical_devices — and is frozen afterwards, as in TensorFlow; the error names the cause.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "kerosene/config.h"
#include "runtime/caching_allocator.h"
#include "runtime/placement.h"
#include "runtime/worker_thread.h"

namespace kerosene::runtime {

class DeviceContext {
 public:
  DeviceContext(Device device, config::PhysicalDevice physical, backends::Backend& backend,
                AllocatorOptions options, int device_index);

  const Device& device() const { return device_; }
  /// The physical device this logical device was carved out of.
  const config::PhysicalDevice& physical() const { return physical_; }
  backends::Backend& backend() const { return backend_; }
  CachingAllocator& allocator() { return allocator_; }
  /// This device's thread (started on first use).
  WorkerThread& worker();

 private:
  Device device_;
  config::PhysicalDevice physical_;
  backends::Backend& backend_;
  CachingAllocator allocator_;
  std::once_flag worker_once_;
  std::unique_ptr<WorkerThread> worker_;
};

/// Fraction of a GPU's free memory reserved at start-up when memory growth is off (TensorFlow
/// reserves nearly all of it; kerosene leaves 10% for the CUDA context, cuDNN workspaces and
/// other processes).
inline constexpr double kGpuPreallocateFraction = 0.9;

/// The allocator options of one logical GPU: growth reserves nothing up front; no growth
/// reserves the memory_limit, or kGpuPreallocateFraction of `free_bytes` shared by the
/// `logical_count` logical devices of the GPU, in whole 2 MiB segments. A pure function, so the
/// policy is tested with a simulated device of any size.
AllocatorOptions gpu_memory_policy(const std::string& device_name, bool growth, std::optional<int64_t> memory_limit_mb,
                                   size_t free_bytes, size_t logical_count);

class Registry {
 public:
  /// The process-wide runtime. Never destroyed, so tensors in static storage stay valid.
  static Registry& instance();

  std::vector<config::PhysicalDevice> physical_devices();
  void set_visible_devices(const std::vector<config::PhysicalDevice>& devices, const std::string& type);
  std::vector<config::PhysicalDevice> visible_devices();
  void set_memory_growth(const config::PhysicalDevice& device, bool enable);
  bool memory_growth(const config::PhysicalDevice& device);
  void set_logical_configuration(const config::PhysicalDevice& device,
                                 const std::vector<config::LogicalDeviceConfiguration>& logical);
  std::vector<config::LogicalDeviceConfiguration> logical_configuration(const config::PhysicalDevice& device);
  config::experimental::DeviceDetails device_details(const config::PhysicalDevice& device);

  /// Initializes the runtime (recording `cause` for later errors) if needed.
  void initialize(const std::string& cause);
  bool initialized() const;
  std::string initialized_by() const;

  /// Logical devices, in order (CPUs, then GPUs), after initialization.
  std::vector<Device> logical_devices(const std::string& cause);
  /// Where a model goes when no DeviceScope says otherwise: /GPU:0 when there is one, else /CPU:0.
  Device default_compute_device(const std::string& cause);
  /// The context of a logical device. Throws DeviceError listing the devices there are and, for
  /// a GPU, why there is none (the doctor's verdict).
  DeviceContext& context(const Device& device, const std::string& cause = "a tensor was created");
  /// The allocator that serves the CUDA plugin's scratch memory on CUDA device `ordinal` (that of
  /// its first logical device); null before initialization or when no logical device uses it.
  CachingAllocator* scratch_allocator(int ordinal);

 private:
  struct Physical {
    config::PhysicalDevice device;
    int ordinal = 0;  // CUDA's device number for a GPU
    bool visible = true;
    std::optional<bool> memory_growth;  // GPUs; none: the default (growth on)
    std::vector<config::LogicalDeviceConfiguration> logical;  // empty: one logical device
  };

  Registry() = default;
  void discover_locked();
  Physical& find_locked(const config::PhysicalDevice& device);
  void check_not_initialized_locked(const char* what, const char* call) const;
  void initialize_locked(const std::string& cause);
  bool growth_locked(const Physical& p) const;
  AllocatorOptions gpu_allocator_options(const Physical& p, const Device& device,
                                         const config::LogicalDeviceConfiguration& logical, size_t count) const;

  mutable std::mutex mutex_;
  bool discovered_ = false;
  std::vector<Physical> physical_;
  std::vector<std::unique_ptr<backends::Backend>> gpu_backends_;
  std::string initialized_by_;
  std::vector<std::unique_ptr<DeviceContext>> contexts_;
  std::vector<std::pair<int, DeviceContext*>> first_context_of_ordinal_;  // GPUs: CUDA ordinal, context
};

}  // namespace kerosene::runtime
