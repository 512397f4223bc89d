#include "backends/cuda_plugin/plugin_loader.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "backends/cuda_plugin/scratch_memory.h"
#include "core/environment.h"
#include "kerosene_build_info.h"

namespace kerosene::backends::cuda_plugin {
namespace {

namespace fs = std::filesystem;

std::string executable_path() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : exe.string();
}

/// The file that holds this code: libkerosene.so for a shared kerosene, the program itself for a
/// static one (dladdr names the object the address lies in; the main program's own link map has
/// no usable name, so /proc/self/exe stands for it).
std::string kerosene_module_path() {
  Dl_info info{};
  link_map* module = nullptr;
  if (dladdr1(reinterpret_cast<void*>(&plugin_file_name), &info, reinterpret_cast<void**>(&module),
              RTLD_DL_LINKMAP) == 0 ||
      module == nullptr) {
    return executable_path();
  }
  link_map* main_program = nullptr;
  if (void* self = dlopen(nullptr, RTLD_LAZY | RTLD_NOLOAD)) {
    dlinfo(self, RTLD_DI_LINKMAP, &main_program);
    dlclose(self);
  }
  if (module == main_program || info.dli_fname == nullptr || info.dli_fname[0] == '\0') return executable_path();
  std::error_code ec;
  fs::path path = fs::canonical(info.dli_fname, ec);
  return ec ? std::string(info.dli_fname) : path.string();
}

bool is_within(const fs::path& path, const fs::path& dir) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(path, ec), b = fs::weakly_canonical(dir, ec);
  if (ec || b.empty()) return false;
  auto [end, ignored] = std::mismatch(b.begin(), b.end(), a.begin(), a.end());
  return end == b.end();
}

}  // namespace

std::vector<std::string> search_path() {
  std::vector<std::string> paths;
  auto add = [&paths](const fs::path& file) {
    const std::string text = file.lexically_normal().string();
    if (std::find(paths.begin(), paths.end(), text) == paths.end()) paths.push_back(text);
  };
  const std::string name = plugin_file_name();
  const std::string module = kerosene_module_path();
  const fs::path module_dir = module.empty() ? fs::path() : fs::path(module).parent_path();
  const std::string exe = executable_path();
  const bool module_is_program = module == exe;
  if (!module_dir.empty()) {
    // A shared libkerosene in <prefix>/<libdir>: the plugin is installed in <libdir>/kerosene;
    // beside the library also works. A program (the kerosene tool, or one a user linked with a
    // static libkerosene): beside it (the build tree), or from <prefix>/bin, <prefix>/<libdir>/kerosene.
    if (!module_is_program) add(module_dir / "kerosene" / name);
    add(module_dir / name);
    if (module_is_program) add(module_dir / ".." / KEROSENE_INSTALL_LIBDIR / "kerosene" / name);
  }
  if (!exe.empty() && !module_is_program) add(fs::path(exe).parent_path() / name);
  // Where this build's install step puts it (CMAKE_INSTALL_PREFIX when it was configured): found
  // by a program linked statically anywhere on the machine, when the prefix was not changed at
  // install time.
  add(fs::path(KEROSENE_INSTALL_PLUGIN_DIR) / name);
  // The build directory, only for programs that are in the build tree themselves (the tests, the
  // examples, a project that adds kerosene with add_subdirectory): an installed copy never looks
  // into the tree it was built in.
  if (!module.empty() && is_within(module, KEROSENE_BUILD_PLUGIN_DIR)) add(fs::path(KEROSENE_BUILD_PLUGIN_DIR) / name);
  // The dynamic loader's search: LD_LIBRARY_PATH, the calling program's RUNPATH (the CMake
  // package and kerosene.pc add <prefix>/<libdir>/kerosene to a static consumer's), ld.so.cache.
  paths.push_back(name);
  return paths;
}

std::string installed_plugin_dir() {
  const std::string module = kerosene_module_path();
  if (module.empty()) return KEROSENE_INSTALL_PLUGIN_DIR;
  if (is_within(module, KEROSENE_BUILD_PLUGIN_DIR)) return KEROSENE_BUILD_PLUGIN_DIR;
  const fs::path module_dir = fs::path(module).parent_path();
  // A shared libkerosene: <libdir>/kerosene beside it.
  if (module != executable_path()) return (module_dir / "kerosene").string();
  // A program in an installed prefix (<prefix>/bin/kerosene): <prefix>/<libdir>/kerosene, where
  // that exists; else where this build installs the plugin.
  const fs::path from_bin = (module_dir / ".." / KEROSENE_INSTALL_LIBDIR / "kerosene").lexically_normal();
  std::error_code ec;
  if (fs::is_directory(from_bin, ec)) return from_bin.string();
  return KEROSENE_INSTALL_PLUGIN_DIR;
}

namespace {

/// The candidates, in order. An explicit $KEROSENE_CUDA_PLUGIN is the only one tried: a user
/// who names a file wants to know why that file did not load, not to get another one.
std::vector<std::string> candidates() {
  const std::string forced = env_string("KEROSENE_CUDA_PLUGIN");
  if (!forced.empty()) return {forced};
  return search_path();
}

void load(PluginState& s) {
  s.built_with_cuda = KEROSENE_BUILT_WITH_CUDA != 0;
  const std::string allocator = !env_string("KEROSENE_GPU_ALLOCATOR").empty() ? env_string("KEROSENE_GPU_ALLOCATOR")
                                                                       : env_string("TF_GPU_ALLOCATOR");
  s.stream_ordered_allocator = allocator == "cuda_malloc_async";
  if (!s.built_with_cuda && env_string("KEROSENE_CUDA_PLUGIN").empty()) {
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
    if (handle) {
      // Found by the dynamic loader's search: say which file that was.
      link_map* loaded = nullptr;
      if (!is_file_path && dlinfo(handle, RTLD_DI_LINKMAP, &loaded) == 0 && loaded && loaded->l_name &&
          loaded->l_name[0] != '\0') {
        s.path = loaded->l_name;
      }
      break;
    }
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
