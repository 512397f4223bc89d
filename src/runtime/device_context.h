// The runtime: physical devices, their logical configuration, and one DeviceContext (backend,
// caching allocator, worker thread) per logical device.
//
// Configuration may change until the runtime is initialized — by the first tensor, model or
// list_logical_devices — and is frozen afterwards, as in TensorFlow; the error names the cause.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "kerosene/config.h"
#include "runtime/caching_allocator.h"
#include "runtime/worker_thread.h"

namespace kerosene::runtime {

class DeviceContext {
 public:
  DeviceContext(Device device, backends::Backend& backend, AllocatorOptions options,
                int device_index);

  const Device& device() const { return device_; }
  backends::Backend& backend() const { return backend_; }
  CachingAllocator& allocator() { return allocator_; }
  /// This device's thread (started on first use).
  WorkerThread& worker();

 private:
  Device device_;
  backends::Backend& backend_;
  CachingAllocator allocator_;
  std::once_flag worker_once_;
  std::unique_ptr<WorkerThread> worker_;
};

class Registry {
 public:
  /// The process-wide runtime. Never destroyed, so tensors in static storage stay valid.
  static Registry& instance();

  std::vector<config::PhysicalDevice> physical_devices() const;
  void set_logical_configuration(const config::PhysicalDevice& device,
                                 const std::vector<config::LogicalDeviceConfiguration>& logical);
  std::vector<config::LogicalDeviceConfiguration> logical_configuration(
      const config::PhysicalDevice& device) const;

  /// Initializes the runtime (recording `cause` for later errors) if needed.
  void initialize(const std::string& cause);
  bool initialized() const;
  std::string initialized_by() const;

  /// Logical devices, in order, after initialization.
  std::vector<Device> logical_devices(const std::string& cause);
  /// The context of a logical device. Throws DeviceError listing the devices there are.
  DeviceContext& context(const Device& device, const std::string& cause = "a tensor was created");

 private:
  Registry() = default;
  void initialize_locked(const std::string& cause);

  mutable std::mutex mutex_;
  std::vector<config::LogicalDeviceConfiguration> cpu_logical_;  // empty: one logical CPU
  std::string initialized_by_;
  std::vector<std::unique_ptr<DeviceContext>> contexts_;
};

}  // namespace kerosene::runtime
