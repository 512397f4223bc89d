// Gathers the facts (probe_system) and caches them for diagnose(): the system's answers do
// not change while a process runs, except kerosene's own device configuration.
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>

#include "backends/cuda_plugin/plugin_loader.h"
#include "doctor/probes.h"
#include "kerosene/config.h"
#include "kerosene_build_info.h"

namespace kerosene::doctor {
namespace {

std::optional<std::string> environment(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::optional<std::string>(value) : std::nullopt;
}

// A fixed-size C string from the plugin, which may lack its terminator.
template <size_t N>
std::string bounded(const char (&text)[N]) {
  return std::string(text, strnlen(text, N));
}

}  // namespace

BuildFacts probe_build() {
  BuildFacts b;
  b.with_cuda = KEROSENE_BUILT_WITH_CUDA != 0;
  b.without_cuda_reason = KEROSENE_BUILD_WITHOUT_CUDA_REASON;
  b.cuda = parse_version(KEROSENE_BUILD_CUDA_VERSION);
  b.cudnn = parse_version(KEROSENE_BUILD_CUDNN_VERSION);
  b.cublas = parse_version(KEROSENE_BUILD_CUBLAS_VERSION);
  b.nccl = parse_version(KEROSENE_BUILD_NCCL_VERSION);
  b.architectures = KEROSENE_BUILD_CUDA_ARCHITECTURES;
  b.plugin_dir = backends::cuda_plugin::installed_plugin_dir();
  return b;
}

PluginFacts probe_plugin() {
  namespace abi = backends::cuda_abi;
  const backends::cuda_plugin::PluginState& s = backends::cuda_plugin::plugin();
  PluginFacts p;
  p.loaded = s.loaded;
  p.path = s.path;
  p.tried = s.tried;
  p.load_error = s.load_error;
  if (!s.loaded) return p;
  p.built_runtime = cuda_version_from_int(s.versions.built_cuda_runtime);
  p.driver = cuda_version_from_int(s.versions.driver);
  p.cublas = cublas_version_from_int(s.versions.cublas);
  p.cudnn = cudnn_version_from_int(s.versions.cudnn);
  p.built_cublas = cublas_version_from_int(s.versions.built_cublas);
  p.built_cudnn = cudnn_version_from_int(s.versions.built_cudnn);
  p.architectures = bounded(s.versions.architectures);
  p.initialized = s.init_status == abi::kOk;
  p.init_error = s.init_error;
  for (const abi::DeviceInfo& info : s.devices) {
    // The plugin's discovery creates no context, so it does not read free memory (0): NVML does.
    p.devices.push_back({bounded(info.name), bounded(info.uuid), info.compute_major, info.compute_minor,
                         info.total_memory,
                         info.free_memory ? std::optional<size_t>(info.free_memory) : std::nullopt});
  }
  return p;
}

KeroseneFacts probe_kerosene() {
  KeroseneFacts k;
  try {
    // Neither call initializes the runtime: both read the configuration only.
    for (const auto& d : config::list_physical_devices("GPU")) k.physical_gpus.push_back(d.name);
    for (const auto& d : config::get_visible_devices("GPU")) k.visible_gpus.push_back(d.name);
    k.known = true;
  } catch (const std::exception& e) {
    k.error = e.what();
  }
  return k;
}

Facts probe_system() {
  Facts f;
  f.build = probe_build();
  f.plugin = probe_plugin();  // first: the plugin loads the libraries the probes below ask for
  f.kernel_driver = probe_kernel_driver();
  f.driver = probe_driver();
  f.cublas = probe_cublas(f.build);
  f.cudnn = probe_cudnn(f.build);
  f.nccl = probe_nccl(f.build);
  f.cuda_visible_devices = environment("CUDA_VISIBLE_DEVICES");
  f.plugin_override = environment("KEROSENE_CUDA_PLUGIN");
  f.nvml = probe_nvml();
  f.kerosene = probe_kerosene();
  return f;
}

Report diagnose() {
  static const Facts system = probe_system();
  Facts facts = system;
  facts.kerosene = probe_kerosene();
  return diagnose(facts);
}

}  // namespace kerosene::doctor
