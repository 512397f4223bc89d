// Finding, loading and initializing the CUDA plugin (libkerosene_cuda.so), once per process.
//
// Where the plugin is looked for, in order: $KEROSENE_CUDA_PLUGIN (a file path; tests point it
// at a missing file to see that diagnosis), the directory of the running executable, the
// directory it was built in, and the dynamic loader's own search path. Every step that fails
// keeps its reason in words, for `kerosene doctor` and the log line at the start of fit.
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

}  // namespace kerosene::backends::cuda_plugin
