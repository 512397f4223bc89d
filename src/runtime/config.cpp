// The public configuration API (kerosene::config), a thin layer over the Registry.
#include "kerosene/config.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <thread>

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include "kerosene/device_scope.h"
#include "kerosene/error.h"
#include "kerosene_build_info.h"
#include "runtime/device_context.h"
#include "runtime/placement.h"
#include "runtime/tensor_float_32.h"
#include "runtime/threading.h"

namespace kerosene {
namespace config {
namespace {

std::atomic<int> g_intra_op_threads{0};
std::atomic<int> g_inter_op_threads{0};
std::atomic<bool> g_tensor_float_32{true};  // TensorFlow's default

bool matches(const std::string& wanted, const std::string& type) {
  if (wanted.empty()) return true;
  std::string upper = wanted;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper == type;
}

void check_device_type(const std::string& type) {
  if (!matches(type, "CPU") && !matches(type, "GPU")) {
    throw ValueError("unknown device type \"" + type + "\"; expected \"CPU\", \"GPU\" or \"\"");
  }
}

}  // namespace

std::vector<PhysicalDevice> list_physical_devices(const std::string& device_type) {
  check_device_type(device_type);
  std::vector<PhysicalDevice> out;
  for (auto& d : runtime::Registry::instance().physical_devices()) {
    if (matches(device_type, d.device_type)) out.push_back(d);
  }
  return out;
}

std::vector<LogicalDevice> list_logical_devices(const std::string& device_type) {
  check_device_type(device_type);
  std::vector<LogicalDevice> out;
  for (const Device& d : runtime::Registry::instance().logical_devices("list_logical_devices was called")) {
    std::string type(device_type_name(d.type()));
    if (matches(device_type, type)) out.push_back({"/device:" + type + ":" + std::to_string(d.index()), type});
  }
  return out;
}

void set_visible_devices(const std::vector<PhysicalDevice>& devices, const std::string& device_type) {
  check_device_type(device_type);
  runtime::Registry::instance().set_visible_devices(devices, device_type);
}

std::vector<PhysicalDevice> get_visible_devices(const std::string& device_type) {
  check_device_type(device_type);
  std::vector<PhysicalDevice> out;
  for (auto& d : runtime::Registry::instance().visible_devices()) {
    if (matches(device_type, d.device_type)) out.push_back(d);
  }
  return out;
}

void set_soft_device_placement(bool enabled) { runtime::g_soft_device_placement = enabled; }
bool get_soft_device_placement() { return runtime::soft_device_placement(); }
void set_log_device_placement(bool enabled) { runtime::g_log_device_placement = enabled; }
bool get_log_device_placement() { return runtime::log_device_placement(); }

bool is_built_with_cuda() { return KEROSENE_BUILT_WITH_CUDA != 0; }

BuildInfo build_info() {
  BuildInfo info;
  info.kerosene_version = KEROSENE_VERSION;
  info.is_cuda_build = KEROSENE_BUILT_WITH_CUDA != 0;
  info.cuda_version = KEROSENE_BUILD_CUDA_VERSION;
  info.cudnn_version = KEROSENE_BUILD_CUDNN_VERSION;
  info.cublas_version = KEROSENE_BUILD_CUBLAS_VERSION;
  info.nccl_version = KEROSENE_BUILD_NCCL_VERSION;
  info.cuda_compute_capabilities = KEROSENE_BUILD_CUDA_ARCHITECTURES;
  info.is_mpi_build = KEROSENE_BUILT_WITH_MPI != 0;
  info.mpi_version = KEROSENE_BUILD_MPI_VERSION;
  info.without_mpi_reason = KEROSENE_BUILD_WITHOUT_MPI_REASON;
  const dnnl_version_t* dnnl = dnnl_version();
  info.onednn_version = std::to_string(dnnl->major) + "." + std::to_string(dnnl->minor) + "." + std::to_string(dnnl->patch);
  return info;
}

void set_logical_device_configuration(const PhysicalDevice& device,
                                      const std::vector<LogicalDeviceConfiguration>& logical) {
  runtime::Registry::instance().set_logical_configuration(device, logical);
}

std::vector<LogicalDeviceConfiguration> get_logical_device_configuration(const PhysicalDevice& device) {
  return runtime::Registry::instance().logical_configuration(device);
}

bool is_runtime_initialized() { return runtime::Registry::instance().initialized(); }
std::string runtime_initialized_by() { return runtime::Registry::instance().initialized_by(); }

namespace experimental {
void set_memory_growth(const PhysicalDevice& device, bool enable) {
  runtime::Registry::instance().set_memory_growth(device, enable);
}
bool get_memory_growth(const PhysicalDevice& device) { return runtime::Registry::instance().memory_growth(device); }
DeviceDetails get_device_details(const PhysicalDevice& device) {
  return runtime::Registry::instance().device_details(device);
}
void empty_cache(const std::string& device) {
  runtime::Registry::instance().context(Device::parse(device), "empty_cache was called").allocator().empty_cache();
}

MemoryInfo get_memory_info(const std::string& device) {
  return runtime::Registry::instance()
      .context(Device::parse(device), "get_memory_info was called")
      .allocator()
      .stats();
}
void reset_memory_stats(const std::string& device) {
  runtime::Registry::instance()
      .context(Device::parse(device), "reset_memory_stats was called")
      .allocator()
      .reset_peak();
}

void enable_tensor_float_32_execution(bool enabled) { g_tensor_float_32 = enabled; }
bool tensor_float_32_execution_enabled() { return g_tensor_float_32; }
}  // namespace experimental

namespace threading {
void set_intra_op_parallelism_threads(int n) {
  if (n < 0) throw ValueError("intra-op threads must be >= 0 (0: all cores), got " + std::to_string(n));
  g_intra_op_threads = n;
}
int get_intra_op_parallelism_threads() { return g_intra_op_threads; }
void set_inter_op_parallelism_threads(int n) {
  if (n < 0) throw ValueError("inter-op threads must be >= 0 (0: default), got " + std::to_string(n));
  g_inter_op_threads = n;
}
int get_inter_op_parallelism_threads() { return g_inter_op_threads; }
}  // namespace threading

}  // namespace config

namespace runtime {
namespace {
thread_local int t_op_threads_cap = 0;
}  // namespace
int thread_op_threads_cap() { return t_op_threads_cap; }
int op_threads_here() {
  const int all = intra_op_threads();
  return t_op_threads_cap > 0 && t_op_threads_cap < all ? t_op_threads_cap : all;
}
ScopedOpThreadsCap::ScopedOpThreadsCap(int cap) : previous_(t_op_threads_cap) { t_op_threads_cap = cap; }
ScopedOpThreadsCap::~ScopedOpThreadsCap() { t_op_threads_cap = previous_; }

bool tensor_float_32_in_effect() {
  // NVIDIA documents only "0" (off); any other value leaves the frameworks' setting in charge.
  static const bool overridden_off = [] {
    const char* value = std::getenv("NVIDIA_TF32_OVERRIDE");
    return value && std::string(value) == "0";
  }();
  return !overridden_off && config::experimental::tensor_float_32_execution_enabled();
}

int intra_op_threads() {
  int n = config::g_intra_op_threads;
  if (n > 0) return n;
  // OpenMP's default honours OMP_NUM_THREADS and the CPU affinity mask, as users expect; it is
  // read once, before kerosene changes the calling thread's setting per op.
  static const int available = std::max(1, omp_get_max_threads());
  return available;
}
}  // namespace runtime

// --- DeviceScope --------------------------------------------------------------------------------

namespace {
thread_local bool t_has_scope = false;
thread_local Device t_scope_device;
}  // namespace

DeviceScope::DeviceScope(std::string_view device) : DeviceScope(Device::parse(device)) {}

namespace {
/// The device a scope really selects: `requested` when it exists; otherwise, under soft
/// placement, /CPU:0 with a warning that says why; otherwise the DeviceError with the diagnosis.
Device place(const Device& requested) {
  try {
    runtime::Registry::instance().context(requested, "a DeviceScope was entered");
    return requested;
  } catch (const DeviceError& e) {  // its message explains why the device is missing
    if (!runtime::soft_device_placement()) throw;
    runtime::warn("soft device placement: " + requested.to_string() + " was requested but " + e.what() +
                  " Running on /CPU:0 instead.");
    return Device();
  }
}
}  // namespace

DeviceScope::DeviceScope(const Device& device)
    : previous_(t_scope_device), had_previous_(t_has_scope) {
  t_scope_device = place(device);
  t_has_scope = true;
}

DeviceScope::~DeviceScope() {
  t_scope_device = previous_;
  t_has_scope = had_previous_;
}

Device DeviceScope::current() { return t_has_scope ? t_scope_device : Device(); }
bool DeviceScope::active() { return t_has_scope; }

}  // namespace kerosene
