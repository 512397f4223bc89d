// Checks of the devices: what CUDA_VISIBLE_DEVICES selects, the GPUs the driver shows, what
// kerosene's own configuration leaves visible, and what other processes hold.
#include <algorithm>

#include "doctor/arch_coverage.h"
#include "doctor/checks.h"
#include "doctor/text.h"
#include "doctor/visible_devices.h"

namespace kerosene::doctor::checks {
namespace {

const int kCudaErrorStubLibrary = 34, kCudaErrorInsufficientDriver = 35, kCudaErrorNoDevice = 100,
          kCudaErrorInvalidDevice = 101, kCudaErrorSystemDriverMismatch = 803, kCudaErrorCompatNotSupported = 804;

std::string cuinit_fix(const Facts& facts, int code) {
  switch (code) {
    case kCudaErrorNoDevice:
      if (facts.cuda_visible_devices) {
        return "check CUDA_VISIBLE_DEVICES (above): it may hide every GPU; else see nvidia-smi";
      }
      return "check that nvidia-smi lists a GPU; in a container, start it with --gpus all";
    case kCudaErrorInvalidDevice:
      return "CUDA_VISIBLE_DEVICES names a device that does not exist: fix or unset it";
    case kCudaErrorInsufficientDriver:
      return "install a newer NVIDIA driver (see \"driver supports the CUDA runtime\")";
    case kCudaErrorSystemDriverMismatch:
      return "the driver library and the kernel module are different versions, as after a driver upgrade "
             "without a reboot: reboot, or reload the nvidia kernel modules";
    case kCudaErrorCompatNotSupported:
      return "the cuda-compat package works only on data-center GPUs: remove it from LD_LIBRARY_PATH and "
             "upgrade the driver instead";
    case kCudaErrorStubLibrary:
      return "remove the CUDA toolkit's stubs directory from LD_LIBRARY_PATH and install the NVIDIA driver";
    default:
      return "see nvidia-smi and dmesg for the driver's own error; a missing nvidia_uvm module (sudo modprobe "
             "nvidia_uvm) or a GPU in a bad state after suspend (reboot) are common causes";
  }
}

std::string device_text(size_t index, const GpuDevice& d) {
  std::string text = "GPU " + std::to_string(index) + ": " + d.name + ", compute capability " +
                     std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor) + ", " +
                     bytes_text(d.total_memory) + " total";
  return text + (d.free_memory ? ", " + bytes_text(*d.free_memory) + " free" : "");
}

std::string capability(const GpuDevice& d) {
  return std::to_string(d.compute_major) + "." + std::to_string(d.compute_minor);
}

// The build's list in CMake's form plus native code for `extra` ("75-real;80-real;90-real;90-virtual").
std::string cmake_architectures(const std::string& architectures, const std::vector<std::string>& extra) {
  std::vector<std::string> out = extra;
  std::string text = architectures;
  std::replace(text.begin(), text.end(), ';', ' ');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string token = text.substr(start, end - start);
    if (token.rfind("sm_", 0) == 0) out.push_back(token.substr(3) + "-real");
    if (token.rfind("compute_", 0) == 0) out.push_back(token.substr(8) + "-virtual");
    start = end + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return join(out, ";");
}

}  // namespace

std::vector<GpuDevice> cuda_devices(const Facts& facts) {
  std::vector<GpuDevice> devices = facts.driver.devices.empty() ? facts.plugin.devices : facts.driver.devices;
  for (size_t i = 0; i < devices.size(); ++i) {
    GpuDevice& d = devices[i];
    if (d.free_memory) continue;
    const auto same = [&](const GpuDevice& other) { return !d.uuid.empty() && other.uuid == d.uuid; };
    const auto& plugin = facts.plugin.devices;
    auto in_plugin = std::find_if(plugin.begin(), plugin.end(), same);
    if (in_plugin == plugin.end() && d.uuid.empty() && i < plugin.size()) {
      in_plugin = plugin.begin() + static_cast<long>(i);
    }
    if (in_plugin != plugin.end() && in_plugin->free_memory) {
      d.free_memory = in_plugin->free_memory;
      continue;
    }
    for (const NvmlGpu& g : facts.nvml.gpus) {
      if (same(g.device)) d.free_memory = g.device.free_memory;
    }
  }
  return devices;
}

Check cuda_visible_devices(const Facts& facts) {
  std::optional<std::vector<GpuIdentity>> gpus;
  if (facts.nvml.loaded) {
    gpus.emplace();
    for (const NvmlGpu& g : facts.nvml.gpus) gpus->push_back({g.device.uuid, g.mig_uuids});
  }
  const VisibleDevices v = parse_visible_devices(facts.cuda_visible_devices, gpus);
  const std::string unchecked =
      gpus || !v.is_set ? "" : " (without NVML the entries cannot be checked against the machine's GPUs)";
  const std::string fix =
      "unset CUDA_VISIBLE_DEVICES, or list the GPUs to use: indices (0,1) or UUIDs (GPU-...) as "
      "nvidia-smi -L shows them";
  if (v.hides_all()) {
    if (gpus && gpus->empty()) return pass(kVisibleDevices, v.message + "; NVML shows no GPU to hide anyway");
    return fail(kVisibleDevices, v.message + unchecked, v.message, fix);
  }
  if (!v.stopped_at.empty()) {
    return warn(kVisibleDevices, v.message + unchecked,
                "correct or remove \"" + v.stopped_at + "\": CUDA ignores every entry from it on; " + fix);
  }
  return pass(kVisibleDevices, v.message + unchecked);
}

Check gpus_found(const Facts& facts, const Check& driver_library) {
  if (driver_library.result != Result::pass) return skip_after(kGpusFound, driver_library);
  const DriverFacts& d = facts.driver;
  if (d.init_result && *d.init_result != 0) {
    return fail(kGpusFound, "cuInit failed: " + d.init_error,
                "the CUDA driver cannot start (cuInit: " + d.init_error + ")", cuinit_fix(facts, *d.init_result));
  }
  const std::vector<GpuDevice> devices = cuda_devices(facts);
  if (devices.empty()) {
    return fail(kGpusFound, "the driver shows no GPU", "the CUDA driver shows no GPU",
                cuinit_fix(facts, kCudaErrorNoDevice));
  }
  std::vector<std::string> lines;
  for (size_t i = 0; i < devices.size(); ++i) lines.push_back(device_text(i, devices[i]));
  const std::string detail = join(lines, "; ");
  if (facts.plugin.loaded && !facts.plugin.initialized) {
    return fail(kGpusFound, detail + "; but the plugin's CUDA runtime did not start: " + facts.plugin.init_error,
                "the CUDA runtime did not start (" + facts.plugin.init_error + ")",
                "compare the driver's and the runtime's versions (above); see nvidia-smi and dmesg");
  }
  return pass(kGpusFound, detail);
}

Check visible_to_kerosene(const Facts& facts, const Check& gpus_found) {
  if (gpus_found.result != Result::pass) return skip_after(kVisibleToKerosene, gpus_found);
  const KeroseneFacts& k = facts.kerosene;
  if (!k.known) return skip(kVisibleToKerosene, "kerosene's device configuration could not be read: " + k.error);
  const size_t driver_count = cuda_devices(facts).size();
  if (k.physical_gpus.empty()) {
    return fail(kVisibleToKerosene, "kerosene lists no GPU although the driver shows " + count_text(driver_count),
                "kerosene lists no GPU although the driver shows " + count_text(driver_count),
                "see \"CUDA plugin loads\" above: kerosene finds GPUs through its plugin");
  }
  if (k.visible_gpus.empty()) {
    return fail(kVisibleToKerosene,
                "set_visible_devices left none of kerosene's " + count_text(k.physical_gpus.size()) + " visible",
                "kerosene::config::set_visible_devices hid every GPU",
                "pass the GPUs to use to kerosene::config::set_visible_devices before the runtime starts, e.g. "
                "set_visible_devices(list_physical_devices(\"GPU\"), \"GPU\")");
  }
  return pass(kVisibleToKerosene, join(k.visible_gpus, ", ") + " (of " + count_text(k.physical_gpus.size()) + ")");
}

Check kernels_cover(const Facts& facts, const Check& gpus_found) {
  if (gpus_found.result != Result::pass) return skip_after(kKernelsCover, gpus_found);
  const std::string archs =
      !facts.plugin.architectures.empty() ? facts.plugin.architectures : facts.build.architectures;
  if (archs.empty()) return skip(kKernelsCover, "this build has no CUDA kernels");
  const std::vector<GpuDevice> devices = cuda_devices(facts);
  std::vector<std::string> lines, uncovered, jit, native_needed;
  for (size_t i = 0; i < devices.size(); ++i) {
    const GpuDevice& d = devices[i];
    const std::string gpu = "GPU " + std::to_string(i) + " (" + d.name + ", " + capability(d) + ")";
    const CoverageAnswer answer = kernel_coverage(archs, d.compute_major, d.compute_minor);
    if (answer.coverage == Coverage::native) lines.push_back(gpu + ": native " + answer.arch);
    if (answer.coverage == Coverage::ptx_jit) {
      lines.push_back(gpu + ": JIT-compiled from " + answer.arch + " PTX");
      jit.push_back(gpu);
    }
    if (answer.coverage == Coverage::none) {
      lines.push_back(gpu + ": no kernel in " + archs + " runs on it");
      uncovered.push_back("GPU " + std::to_string(i) + " (" + d.name + ", compute capability " + capability(d) + ")");
    }
    if (answer.coverage != Coverage::native) {
      native_needed.push_back(std::to_string(d.compute_major) + std::to_string(d.compute_minor) + "-real");
    }
  }
  const std::string rebuild = "-DKEROSENE_CUDA_ARCHITECTURES=\"" + cmake_architectures(archs, native_needed) + "\"";
  if (!uncovered.empty()) {
    return fail(kKernelsCover, join(lines, "; "),
                "kerosene's kernels (" + archs + ") cannot run on " + join(uncovered, ", "),
                "rebuild kerosene with " + rebuild);
  }
  if (!jit.empty()) {
    return warn(kKernelsCover,
                join(lines, "; ") +
                    "; the first start compiles the kernels (minutes; then cached in "
                    "~/.nv/ComputeCache)",
                "for native code, rebuild kerosene with " + rebuild);
  }
  return pass(kKernelsCover, join(lines, "; "));
}

Check memory_held_by_others(const Facts& facts) {
  if (!facts.nvml.loaded) return skip(kMemoryHeld, "NVML (libnvidia-ml.so.1) is not available: " + facts.nvml.error);
  std::vector<std::string> lines, crowded;
  for (size_t i = 0; i < facts.nvml.gpus.size(); ++i) {
    const NvmlGpu& g = facts.nvml.gpus[i];
    if (g.processes.empty()) continue;
    size_t held = 0;
    std::vector<std::string> processes;
    for (const GpuProcess& p : g.processes) {
      held += p.used_memory;
      processes.push_back("pid " + std::to_string(p.pid) + (p.name.empty() ? "" : " (" + p.name + ")") + " " +
                          bytes_text(p.used_memory));
    }
    const std::string gpu = "nvidia-smi GPU " + std::to_string(i) + " (" + g.device.name + ")";
    lines.push_back(gpu + ": " + join(processes, ", ") + " of " + bytes_text(g.device.total_memory));
    if (held > g.device.total_memory / 2) crowded.push_back(gpu);
  }
  if (lines.empty()) {
    return pass(kMemoryHeld, "no other process uses GPU memory (" + count_text(facts.nvml.gpus.size()) + ")");
  }
  if (!crowded.empty()) {
    return warn(kMemoryHeld, join(lines, "; ") + ": more than half of " + join(crowded, ", ") + " is taken",
                "stop those processes (nvidia-smi lists them), pick another GPU with CUDA_VISIBLE_DEVICES, or cap "
                "kerosene with a memory_limit");
  }
  return pass(kMemoryHeld, join(lines, "; "));
}

}  // namespace kerosene::doctor::checks
