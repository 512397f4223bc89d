#include "runtime/device_context.h"

#include "kerosene/error.h"
#include "runtime/storage.h"

namespace kerosene::runtime {

Storage::Storage(DeviceContext* ctx, size_t n) : context(ctx), data(nullptr), bytes(n) {
  data = context->allocator().allocate(n);
}

Storage::~Storage() { context->allocator().deallocate(data); }

DeviceContext::DeviceContext(Device device, backends::Backend& backend, AllocatorOptions options,
                             int device_index)
    : device_(device),
      backend_(backend),
      allocator_(backend.native_allocator(device_index), std::move(options)) {}

WorkerThread& DeviceContext::worker() {
  std::call_once(worker_once_, [this] { worker_ = std::make_unique<WorkerThread>(); });
  return *worker_;
}

Registry& Registry::instance() {
  static Registry* registry = new Registry();
  return *registry;
}

std::vector<config::PhysicalDevice> Registry::physical_devices() const {
  // GPUs join this list with the CUDA backend.
  return {{"/physical_device:CPU:0", "CPU"}};
}

void Registry::set_logical_configuration(
    const config::PhysicalDevice& device,
    const std::vector<config::LogicalDeviceConfiguration>& logical) {
  std::lock_guard lock(mutex_);
  if (!initialized_by_.empty()) {
    throw RuntimeError("logical devices cannot be modified after the runtime is initialized: " +
                       initialized_by_ +
                       ". Call set_logical_device_configuration before creating any tensor or "
                       "model and before list_logical_devices.");
  }
  if (device.name != "/physical_device:CPU:0") {
    throw ValueError("unknown physical device \"" + device.name +
                     "\"; list_physical_devices() returns the devices there are");
  }
  if (logical.empty()) {
    throw ValueError("set_logical_device_configuration needs at least one logical device");
  }
  for (const auto& c : logical) {
    if (c.memory_limit && *c.memory_limit <= 0) {
      throw ValueError("memory_limit must be positive (in MB), got " +
                       std::to_string(*c.memory_limit));
    }
  }
  cpu_logical_ = logical;
}

std::vector<config::LogicalDeviceConfiguration> Registry::logical_configuration(
    const config::PhysicalDevice& device) const {
  std::lock_guard lock(mutex_);
  return cpu_logical_;
}

void Registry::initialize(const std::string& cause) {
  std::lock_guard lock(mutex_);
  initialize_locked(cause);
}

void Registry::initialize_locked(const std::string& cause) {
  if (!initialized_by_.empty()) return;
  initialized_by_ = "it was initialized when " + cause;
  auto& cpu = backends::backend_for(DeviceType::CPU);
  size_t count = cpu_logical_.empty() ? 1 : cpu_logical_.size();
  for (size_t i = 0; i < count; ++i) {
    Device device(DeviceType::CPU, static_cast<int>(i));
    AllocatorOptions options;
    options.device_name = device.to_string();
    options.alignment = 64;
    if (!cpu_logical_.empty() && cpu_logical_[i].memory_limit) {
      options.memory_limit = static_cast<size_t>(*cpu_logical_[i].memory_limit) << 20;
    }
    contexts_.push_back(std::make_unique<DeviceContext>(device, cpu, options, 0));
  }
}

bool Registry::initialized() const {
  std::lock_guard lock(mutex_);
  return !initialized_by_.empty();
}

std::string Registry::initialized_by() const {
  std::lock_guard lock(mutex_);
  return initialized_by_;
}

std::vector<Device> Registry::logical_devices(const std::string& cause) {
  std::lock_guard lock(mutex_);
  initialize_locked(cause);
  std::vector<Device> devices;
  for (const auto& c : contexts_) devices.push_back(c->device());
  return devices;
}

DeviceContext& Registry::context(const Device& device, const std::string& cause) {
  std::lock_guard lock(mutex_);
  initialize_locked(cause);
  for (const auto& c : contexts_) {
    if (c->device().type() == device.type() && c->device().index() == device.index()) return *c;
  }
  std::string known;
  for (const auto& c : contexts_) known += (known.empty() ? "" : ", ") + c->device().to_string();
  std::string hint = device.is_gpu()
      ? " kerosene found no usable GPU (GPU support arrives with the CUDA backend)."
      : " Split the CPU into more logical devices with set_logical_device_configuration.";
  throw DeviceError("device " + device.to_string() + " does not exist; the logical devices are: " +
                    known + "." + hint);
}

}  // namespace kerosene::runtime
