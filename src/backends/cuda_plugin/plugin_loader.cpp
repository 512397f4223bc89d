#include "backends/cuda_plugin/plugin_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "backends/cuda_plugin/scratch_memory.h"
#include "kerosene_build_info.h"

namespace kerosene::backends::cuda_plugin {
namespace {

namespace fs = std::filesystem;

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.parent_path().string();
}

/// The candidates, in order. An explicit $KEROSENE_CUDA_PLUGIN is the only one tried: a user
/// who names a file wants to know why that file did not load, not to get another one.
std::vector<std::string> candidates() {
  const std::string forced = env("KEROSENE_CUDA_PLUGIN");
  if (!forced.empty()) return {forced};
  std::vector<std::string> paths;
  const std::string exe_dir = executable_dir();
  if (!exe_dir.empty()) paths.push_back(exe_dir + "/" + plugin_file_name());
  const std::string build_dir = std::string(KEROSENE_BUILD_PLUGIN_DIR) + "/" + plugin_file_name();
  if (paths.empty() || paths.front() != build_dir) paths.push_back(build_dir);
  paths.push_back(plugin_file_name());  // the dynamic loader's search path (LD_LIBRARY_PATH, ...)
  return paths;
}

void load(PluginState& s) {
  s.built_with_cuda = KEROSENE_BUILT_WITH_CUDA != 0;
  const std::string allocator = !env("KEROSENE_GPU_ALLOCATOR").empty() ? env("KEROSENE_GPU_ALLOCATOR")
                                                                       : env("TF_GPU_ALLOCATOR");
  s.stream_ordered_allocator = allocator == "cuda_malloc_async";
  if (!s.built_with_cuda && env("KEROSENE_CUDA_PLUGIN").empty()) {
    s.load_error = std::string("this build of kerosene has no CUDA plugin: ") + KEROSENE_BUILD_WITHOUT_CUDA_REASON;
    return;
  }
  void* handle = nullptr;
  for (const std::string& path : candidates()) {
    s.path = path;
    const bool is_file_path = path.find('/') != std::string::npos;
    std::error_code ec;
    if (is_file_path && !fs::exists(path, ec)) {
      s.tried.push_back(path + ": no such file");
      continue;
    }
    dlerror();
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) break;
    const char* why = dlerror();
    s.tried.push_back(path + ": " + (why ? why : "dlopen failed"));
  }
  if (!handle) {
    s.load_error = "could not load " + std::string(plugin_file_name()) + "; tried: ";
    for (size_t i = 0; i < s.tried.size(); ++i) s.load_error += (i ? "; " : "") + s.tried[i];
    return;
  }
  dlerror();
  auto entry = reinterpret_cast<kerosene_cuda_plugin_fn>(dlsym(handle, cuda_abi::kEntryPoint));
  if (!entry) {
    const char* why = dlerror();
    s.load_error = s.path + " has no entry point " + cuda_abi::kEntryPoint + ": " + (why ? why : "");
    return;
  }
  s.api = entry(cuda_abi::kAbiVersion);
  if (!s.api) {
    s.load_error = s.path + " was built for another version of kerosene (plugin ABI mismatch; expected " +
                   std::to_string(cuda_abi::kAbiVersion) + "): rebuild kerosene and its plugin together";
    return;
  }
  s.loaded = true;
  s.api->versions(&s.versions);

  cuda_abi::InitOptions options{};
  options.stream_ordered_allocator = s.stream_ordered_allocator ? 1 : 0;
  options.scratch_allocate = scratch_allocate;
  options.scratch_free = scratch_free;
  int count = 0;
  s.init_status = s.api->init(&options, &count);
  if (s.init_status != cuda_abi::kOk) {
    s.init_error = s.api->last_error();
    return;
  }
  for (int i = 0; i < count; ++i) {
    cuda_abi::DeviceInfo info{};
    if (s.api->device_info(i, &info) != cuda_abi::kOk) {
      s.init_status = cuda_abi::kError;
      s.init_error = "reading the properties of CUDA device " + std::to_string(i) + " failed: " + s.api->last_error();
      s.devices.clear();
      return;
    }
    s.devices.push_back(info);
  }
}

}  // namespace

const char* plugin_file_name() { return "libkerosene_cuda.so"; }

const PluginState& plugin() {
  static PluginState state;
  static std::once_flag once;
  std::call_once(once, [] { load(state); });
  return state;
}

}  // namespace kerosene::backends::cuda_plugin
