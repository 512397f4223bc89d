// Finding, loading and initializing the CUDA plugin (libkerosene_cuda.so), once per process.
//
// Where the plugin is looked for, in order: $KEROSENE_CUDA_PLUGIN (a file path, and then the only
// one tried; tests point it at a missing file to see that diagnosis); then, relative to the file
// that holds kerosene's code (libkerosene.so, or the program a static libkerosene is linked
// into, found with dladdr): <dir>/kerosene/, <dir>/, <dir>/../<libdir>/kerosene/; the running
// executable's directory; the install directory configured at build time
// (<prefix>/<libdir>/kerosene); the build directory, only for programs inside the build tree;
// last the dynamic loader's own search (LD_LIBRARY_PATH, the program's RUNPATH, ld.so.cache).
// Every step that fails keeps its reason in words, for `kerosene doctor` and the log line at the
// start of fit.
#pragma once

#include <string>
#include <vector>

#include "backends/cuda/plugin_api.h"

namespace kerosene::backends::cuda_plugin {

struct PluginState {
  bool built_with_cuda = false;  ///< this build compiled the plugin (KEROSENE_WITH_CUDA)
  std::string path;              ///< the file loaded, or the last one tried
  std::vector<std::string> tried;  ///< every path tried, with why it was not taken
  bool loaded = false;           ///< dlopen, the entry point and the ABI version all succeeded
  std::string load_error;        ///< the loader's own text (dlerror) when not loaded
  const cuda_abi::Plugin* api = nullptr;  ///< null unless loaded
  cuda_abi::Versions versions{};  ///< valid when loaded
  int init_status = cuda_abi::kError;  ///< init()'s Status (when loaded)
  std::string init_error;        ///< the CUDA runtime's words when init failed
  std::vector<cuda_abi::DeviceInfo> devices;  ///< as CUDA numbers them (after CUDA_VISIBLE_DEVICES)
  bool stream_ordered_allocator = false;  ///< KEROSENE_GPU_ALLOCATOR/TF_GPU_ALLOCATOR=cuda_malloc_async

  bool usable() const { return loaded && init_status == cuda_abi::kOk && !devices.empty(); }
};

/// Loads and initializes the plugin the first time; later calls return the same state.
/// Never throws: every failure is recorded in the state.
const PluginState& plugin();

/// The file name the build gives the plugin ("libkerosene_cuda.so").
const char* plugin_file_name();

/// Every place the plugin is looked for when $KEROSENE_CUDA_PLUGIN is not set, in order.
std::vector<std::string> search_path();

/// The directory where this copy of kerosene expects its plugin (for `kerosene doctor`'s advice):
/// the build directory for a program in the build tree; <libdir>/kerosene beside a shared
/// libkerosene; <prefix>/<libdir>/kerosene for a program in <prefix>/bin; else the configured
/// install directory.
std::string installed_plugin_dir();

}  // namespace kerosene::backends::cuda_plugin
