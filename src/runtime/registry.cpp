// The Registry: physical devices (the CPU, and the GPUs the CUDA plugin finds), their
// visibility, memory policy and logical configuration, and the logical devices' contexts.
#include "runtime/device_context.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "backends/cuda_plugin/cuda_backend.h"
#include "backends/cuda_plugin/plugin_loader.h"
#include "kerosene/doctor.h"
#include "kerosene/error.h"

namespace kerosene::runtime {
namespace {

constexpr const char* kCpuName = "/physical_device:CPU:0";

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// TF_FORCE_GPU_ALLOW_GROWTH, as TensorFlow reads it: "true" or "false"; unset: no override.
std::optional<bool> forced_growth() {
  const char* value = std::getenv("TF_FORCE_GPU_ALLOW_GROWTH");
  if (!value || !*value) return std::nullopt;
  std::string v = upper(value);
  if (v == "TRUE" || v == "1") return true;
  if (v == "FALSE" || v == "0") return false;
  throw ValueError(std::string("TF_FORCE_GPU_ALLOW_GROWTH must be \"true\" or \"false\", got \"") + value + "\"");
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "CPU";
}

}  // namespace

Registry& Registry::instance() {
  static Registry* registry = new Registry();
  return *registry;
}

// --- physical devices and their configuration ---------------------------------------------------

void Registry::discover_locked() {
  if (discovered_) return;
  discovered_ = true;
  physical_.push_back({{kCpuName, "CPU"}, 0, true, std::nullopt, {}});
  const auto& plugin = backends::cuda_plugin::plugin();
  if (!plugin.usable()) return;
  for (size_t i = 0; i < plugin.devices.size(); ++i) {
    physical_.push_back({{"/physical_device:GPU:" + std::to_string(i), "GPU"}, static_cast<int>(i), true, std::nullopt, {}});
  }
}

Registry::Physical& Registry::find_locked(const config::PhysicalDevice& device) {
  discover_locked();
  for (auto& p : physical_) {
    if (p.device.name == device.name) return p;
  }
  std::string known;
  for (const auto& p : physical_) known += (known.empty() ? "" : ", ") + p.device.name;
  throw ValueError("unknown physical device \"" + device.name + "\"; the physical devices are: " + known +
                   " (list_physical_devices() returns them)");
}

void Registry::check_not_initialized_locked(const char* what, const char* call) const {
  if (initialized_by_.empty()) return;
  throw RuntimeError(std::string(what) + " cannot be modified after the runtime is initialized: " + initialized_by_ +
                     ". Call " + call + " before creating any tensor or model and before list_logical_devices.");
}

std::vector<config::PhysicalDevice> Registry::physical_devices() {
  std::lock_guard lock(mutex_);
  discover_locked();
  std::vector<config::PhysicalDevice> out;
  for (const auto& p : physical_) out.push_back(p.device);
  return out;
}

void Registry::set_visible_devices(const std::vector<config::PhysicalDevice>& devices, const std::string& type) {
  std::lock_guard lock(mutex_);
  discover_locked();
  check_not_initialized_locked("visible devices", "set_visible_devices");
  std::vector<std::string> types;
  if (!type.empty()) {
    types.push_back(upper(type));
  } else {
    for (const auto& d : devices) types.push_back(upper(d.device_type));
  }
  if (types.empty()) {
    throw ValueError("set_visible_devices got no devices and no device_type; to hide every GPU call "
                     "set_visible_devices({}, \"GPU\")");
  }
  for (const auto& d : devices) {
    Physical& p = find_locked(d);
    if (std::find(types.begin(), types.end(), p.device.device_type) == types.end()) {
      throw ValueError("set_visible_devices: " + d.name + " is not of device_type \"" + type + "\"");
    }
  }
  for (auto& p : physical_) {
    if (std::find(types.begin(), types.end(), p.device.device_type) == types.end()) continue;
    const bool listed = std::any_of(devices.begin(), devices.end(), [&](const auto& d) { return d.name == p.device.name; });
    if (p.device.device_type == "CPU" && !listed) {
      throw ValueError("the CPU cannot be hidden: kerosene needs it for the host side of every op; pass "
                       "device_type \"GPU\" to choose GPUs only");
    }
  }
  for (auto& p : physical_) {
    if (std::find(types.begin(), types.end(), p.device.device_type) == types.end()) continue;
    p.visible = std::any_of(devices.begin(), devices.end(), [&](const auto& d) { return d.name == p.device.name; });
  }
}

std::vector<config::PhysicalDevice> Registry::visible_devices() {
  std::lock_guard lock(mutex_);
  discover_locked();
  std::vector<config::PhysicalDevice> out;
  for (const auto& p : physical_) {
    if (p.visible) out.push_back(p.device);
  }
  return out;
}

void Registry::set_memory_growth(const config::PhysicalDevice& device, bool enable) {
  std::lock_guard lock(mutex_);
  Physical& p = find_locked(device);
  if (p.device.device_type != "GPU") {
    throw ValueError("cannot set memory growth on " + device.name + ": memory growth applies to GPUs only");
  }
  check_not_initialized_locked("memory growth", "set_memory_growth");
  p.memory_growth = enable;
}

bool Registry::growth_locked(const Physical& p) const {
  if (auto forced = forced_growth()) return *forced;
  return p.memory_growth.value_or(true);
}

bool Registry::memory_growth(const config::PhysicalDevice& device) {
  std::lock_guard lock(mutex_);
  Physical& p = find_locked(device);
  if (p.device.device_type != "GPU") {
    throw ValueError("cannot get memory growth of " + device.name + ": memory growth applies to GPUs only");
  }
  return growth_locked(p);
}

void Registry::set_logical_configuration(const config::PhysicalDevice& device,
                                         const std::vector<config::LogicalDeviceConfiguration>& logical) {
  std::lock_guard lock(mutex_);
  Physical& p = find_locked(device);
  check_not_initialized_locked("logical devices", "set_logical_device_configuration");
  if (logical.empty()) throw ValueError("set_logical_device_configuration needs at least one logical device");
  int64_t total_mb = 0;
  for (const auto& c : logical) {
    if (c.memory_limit && *c.memory_limit <= 0) {
      throw ValueError("memory_limit must be positive (in MB), got " + std::to_string(*c.memory_limit));
    }
    total_mb += c.memory_limit.value_or(0);
  }
  if (p.device.device_type == "GPU") {
    if (logical.size() > 1 && std::any_of(logical.begin(), logical.end(), [](const auto& c) { return !c.memory_limit; })) {
      throw ValueError("splitting " + device.name + " into " + std::to_string(logical.size()) +
                       " logical devices needs a memory_limit for each, so they do not compete for the same memory");
    }
    const size_t total = backends::cuda_plugin::plugin().devices[p.ordinal].total_memory;
    if (static_cast<size_t>(total_mb) << 20 > total) {
      throw ValueError("the memory limits of " + device.name + " add up to " + std::to_string(total_mb) +
                       " MB, more than the device's " + std::to_string(total >> 20) + " MB");
    }
  }
  p.logical = logical;
}

std::vector<config::LogicalDeviceConfiguration> Registry::logical_configuration(const config::PhysicalDevice& device) {
  std::lock_guard lock(mutex_);
  return find_locked(device).logical;
}

config::experimental::DeviceDetails Registry::device_details(const config::PhysicalDevice& device) {
  std::lock_guard lock(mutex_);
  const Physical& p = find_locked(device);
  config::experimental::DeviceDetails details;
  if (p.device.device_type == "CPU") {
    details.device_name = cpu_model_name();
    details.total_memory = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
    return details;
  }
  const auto& info = backends::cuda_plugin::plugin().devices[p.ordinal];
  details.device_name = info.name;
  details.compute_capability_major = info.compute_major;
  details.compute_capability_minor = info.compute_minor;
  details.total_memory = info.total_memory;
  details.uuid = info.uuid;
  details.pci_bus_id = info.pci_bus_id;
  return details;
}

// --- initialization -----------------------------------------------------------------------------

AllocatorOptions gpu_memory_policy(const std::string& device_name, bool growth, std::optional<int64_t> memory_limit_mb,
                                   size_t free_bytes, size_t logical_count) {
  AllocatorOptions options;
  options.device_name = device_name;
  options.alignment = 256;
  if (memory_limit_mb) options.memory_limit = static_cast<size_t>(*memory_limit_mb) << 20;
  options.allow_growth = growth;
  if (!growth) {
    constexpr size_t kSegment = size_t{2} << 20;
    options.preallocate_bytes =
        options.memory_limit
            ? options.memory_limit
            : static_cast<size_t>(static_cast<double>(free_bytes) * kGpuPreallocateFraction) / std::max<size_t>(logical_count, 1);
    options.preallocate_bytes -= options.preallocate_bytes % kSegment;
  }
  return options;
}

AllocatorOptions Registry::gpu_allocator_options(const Physical& p, const Device& device,
                                                 const config::LogicalDeviceConfiguration& logical,
                                                 size_t count) const {
  const bool growth = growth_locked(p);
  size_t free_bytes = 0, total_bytes = 0;
  if (!growth && !logical.memory_limit) {
    const auto& plugin = backends::cuda_plugin::plugin();
    if (plugin.api->mem_get_info(p.ordinal, &free_bytes, &total_bytes) != backends::cuda_abi::kOk) {
      throw DeviceError("reading the free memory of " + p.device.name + " failed: " + plugin.api->last_error());
    }
  }
  return gpu_memory_policy(device.to_string(), growth, logical.memory_limit, free_bytes, count);
}

void Registry::initialize(const std::string& cause) {
  std::lock_guard lock(mutex_);
  initialize_locked(cause);
}

void Registry::initialize_locked(const std::string& cause) {
  if (!initialized_by_.empty()) return;
  discover_locked();
  forced_growth();  // a malformed TF_FORCE_GPU_ALLOW_GROWTH is an error on every machine
  auto& cpu = backends::backend_for(DeviceType::CPU);
  std::vector<std::unique_ptr<DeviceContext>> contexts;
  std::vector<std::pair<int, DeviceContext*>> first_of_ordinal;
  int gpu_index = 0;
  for (const Physical& p : physical_) {
    if (!p.visible) continue;
    const size_t count = p.logical.empty() ? 1 : p.logical.size();
    const config::LogicalDeviceConfiguration unlimited;
    for (size_t i = 0; i < count; ++i) {
      const auto& logical = p.logical.empty() ? unlimited : p.logical[i];
      if (p.device.device_type == "CPU") {
        Device device(DeviceType::CPU, static_cast<int>(i));
        AllocatorOptions options;
        options.device_name = device.to_string();
        options.alignment = 64;
        if (logical.memory_limit) options.memory_limit = static_cast<size_t>(*logical.memory_limit) << 20;
        contexts.push_back(std::make_unique<DeviceContext>(device, p.device, cpu, options, 0));
        continue;
      }
      Device device(DeviceType::GPU, gpu_index++);
      if (i == 0) {
        gpu_backends_.push_back(std::make_unique<backends::cuda_plugin::CudaBackend>(
            *backends::cuda_plugin::plugin().api, p.ordinal, device.to_string()));
      }
      contexts.push_back(std::make_unique<DeviceContext>(device, p.device, *gpu_backends_.back(),
                                                         gpu_allocator_options(p, device, logical, count), p.ordinal));
      if (i == 0) first_of_ordinal.emplace_back(p.ordinal, contexts.back().get());
    }
  }
  contexts_ = std::move(contexts);  // only a complete runtime counts as initialized
  first_context_of_ordinal_ = std::move(first_of_ordinal);
  initialized_by_ = "it was initialized when " + cause;
}

CachingAllocator* Registry::scratch_allocator(int ordinal) {
  std::lock_guard lock(mutex_);
  if (initialized_by_.empty()) return nullptr;
  for (const auto& [o, context] : first_context_of_ordinal_) {
    if (o == ordinal) return &context->allocator();
  }
  return nullptr;
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

Device Registry::default_compute_device(const std::string& cause) {
  std::lock_guard lock(mutex_);
  initialize_locked(cause);
  for (const auto& c : contexts_) {
    if (c->device().is_gpu()) return c->device();
  }
  return Device();
}

DeviceContext& Registry::context(const Device& device, const std::string& cause) {
  std::string known;
  {
    std::lock_guard lock(mutex_);
    initialize_locked(cause);
    for (const auto& c : contexts_) {
      if (c->device() == device) return *c;
    }
    for (const auto& c : contexts_) known += (known.empty() ? "" : ", ") + c->device().to_string();
  }
  // The diagnosis runs outside the lock: it reads the configuration through the public API.
  std::string hint;
  if (device.is_gpu()) {
    const auto report = doctor::diagnose();
    hint = report.gpu_usable ? " There are fewer GPUs than that (or set_visible_devices hid it)."
                             : " No GPU is usable: " + report.reason + "; fix: " + report.fix +
                                   " (run `kerosene doctor` for every check).";
  } else {
    hint = " Split the CPU into more logical devices with set_logical_device_configuration.";
  }
  throw DeviceError("device " + device.to_string() + " does not exist; the logical devices are: " + known + "." + hint);
}

}  // namespace kerosene::runtime
