// dlopen() with the answers the doctor reports: the file the loader took, or its own error.
// Libraries are never closed: CUDA's libraries do not support being unloaded, and the plugin
// may hold the same handles.
#pragma once

#include <dlfcn.h>

#include <string>

namespace kerosene::doctor {

struct OpenedLibrary {
  void* handle = nullptr;
  std::string path;   ///< the file loaded (from the loader's link map)
  std::string error;  ///< dlerror() when handle is null
};

OpenedLibrary open_library(const std::string& soname);

/// The function `name` in `handle`, as F (a function pointer type), or null.
template <typename F>
F find_symbol(void* handle, const char* name) {
  return reinterpret_cast<F>(dlsym(handle, name));
}

}  // namespace kerosene::doctor
