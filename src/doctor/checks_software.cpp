// Checks of the software stack: the build, the plugin, the kernel driver, libcuda.so.1 and
// whether the driver is new enough for the CUDA runtime kerosene was built with.
#include <utility>

#include "doctor/checks.h"
#include "doctor/text.h"

namespace kerosene::doctor::checks {
namespace {

const char* const kInstallDriverInContainer =
    "; in a container, start it with the GPUs passed in: docker run --gpus all (the NVIDIA Container "
    "Toolkit must be installed on the host)";

// The oldest Linux driver of each CUDA major (from CUDA's release notes), for the fix.
std::string minimum_driver(int cuda_major) {
  switch (cuda_major) {
    case 11:
      return "450.80.02";
    case 12:
      return "525.60.13";
    case 13:
      return "580.65.06";
    default:
      return "";
  }
}

// The driver's own version ("550.54.15"): NVML's, else the one in /proc/driver/nvidia/version
// ("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 ..."); "" if neither.
std::string driver_number(const Facts& facts) {
  if (!facts.nvml.driver_version.empty()) return facts.nvml.driver_version;
  const std::string& line = facts.kernel_driver.version_line;
  const size_t module = line.find("Kernel Module");
  if (module == std::string::npos) return "";
  const size_t begin = line.find_first_not_of(' ', module + 13);
  if (begin == std::string::npos) return "";
  const size_t end = line.find(' ', begin);
  return line.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

// The first library a dynamic loader error says is missing, when it is not the plugin itself:
// "...; tried: /b/libkerosene_cuda.so: libcudnn.so.9: cannot open shared object file: ..." ->
// libcudnn.so.9.
std::string missing_dependency(const std::string& error) {
  const std::string marker = ": cannot open shared object file";
  for (size_t at = error.find(marker); at != std::string::npos; at = error.find(marker, at + 1)) {
    const size_t separator = error.find_last_of(" ;:", at - 1);
    const std::string name = error.substr(separator == std::string::npos ? 0 : separator + 1, at - separator - 1);
    if (!name.empty() && name.find("kerosene_cuda") == std::string::npos) return name;
  }
  return "";
}

}  // namespace

Check pass(const char* name, std::string detail) { return {name, Result::pass, std::move(detail), "", ""}; }

Check warn(const char* name, std::string detail, std::string fix) {
  return {name, Result::warn, std::move(detail), std::move(fix), ""};
}

Check fail(const char* name, std::string detail, std::string reason, std::string fix) {
  return {name, Result::fail, std::move(detail), std::move(fix), std::move(reason)};
}

Check skip(const char* name, std::string because) { return {name, Result::skip, std::move(because), "", ""}; }

Check skip_after(const char* name, const Check& dependency) {
  return skip(name, "not checked: \"" + dependency.name + "\" did not pass");
}

Check built_with_cuda(const Facts& facts) {
  const BuildFacts& b = facts.build;
  if (!b.with_cuda && facts.plugin.loaded) {
    return warn(kBuiltWithCuda,
                "no (" + b.without_cuda_reason + "), but KEROSENE_CUDA_PLUGIN supplied a plugin: " + facts.plugin.path,
                "build kerosene with CUDA, so that its plugin is built with it and matches it");
  }
  if (!b.with_cuda) {
    return fail(kBuiltWithCuda, "no: " + b.without_cuda_reason,
                "this kerosene was built without CUDA (" + b.without_cuda_reason + ")",
                "rebuild kerosene where the CUDA toolkit, cuBLAS and cuDNN are installed: cmake -S . -B build "
                "-DKEROSENE_WITH_CUDA=ON && cmake --build build");
  }
  std::string detail = "CUDA " + b.cuda.text() + ", cuBLAS " + b.cublas.text() + ", cuDNN " + b.cudnn.text();
  if (b.nccl.known()) detail += ", NCCL " + b.nccl.text();
  return pass(kBuiltWithCuda, detail + "; kernels for " + b.architectures);
}

Check plugin_loads(const Facts& facts, const Check& built) {
  // Without CUDA in the build there is no plugin to load, unless KEROSENE_CUDA_PLUGIN names one.
  if (built.result == Result::fail && !facts.plugin_override) return skip_after(kPluginLoads, built);
  const PluginFacts& p = facts.plugin;
  if (p.loaded) {
    std::string detail = p.path + " (CUDA runtime " + p.built_runtime.text(2) + ", cuBLAS " + p.cublas.text() +
                         ", cuDNN " + p.cudnn.text() + ")";
    if (!p.initialized) detail += "; its CUDA runtime did not start: " + p.init_error + " (see the checks below)";
    return pass(kPluginLoads, detail);
  }
  std::string detail = p.load_error.empty() ? "not loaded, and the loader gave no reason" : p.load_error;
  if (!p.tried.empty() && detail.find(p.tried.front()) == std::string::npos) {
    detail += " (tried: " + join(p.tried, "; ") + ")";
  }
  std::string fix;
  const std::string dependency = missing_dependency(p.load_error);
  if (!dependency.empty()) {
    fix = "install " + dependency +
          " (it comes with the CUDA toolkit or its cuBLAS/cuDNN packages), or add "
          "the directory that holds it to LD_LIBRARY_PATH";
  } else if (facts.plugin_override) {
    fix = "KEROSENE_CUDA_PLUGIN=" + *facts.plugin_override + " does not name a loadable plugin: point it at " +
          facts.build.plugin_dir + "/libkerosene_cuda.so, or unset it to let kerosene find the plugin itself";
  } else {
    fix = "put libkerosene_cuda.so in " + facts.build.plugin_dir +
          " (where this kerosene expects it; `cmake --install` puts it in <prefix>/lib/kerosene), or set "
          "KEROSENE_CUDA_PLUGIN to its path";
  }
  return fail(kPluginLoads, detail, "the CUDA plugin did not load: " + detail, fix);
}

Check kernel_driver(const Facts& facts) {
  const KernelDriverFacts& k = facts.kernel_driver;
  if (k.present) {
    std::string detail = k.version_line;
    if (!facts.nvml.driver_version.empty()) detail += " (NVML: driver " + facts.nvml.driver_version + ")";
    return pass(kKernelDriver, detail);
  }
  if (k.wsl) return pass(kKernelDriver, "WSL 2: the Windows NVIDIA driver serves the GPU through /dev/dxg");
  if (facts.driver.library.loaded && !facts.driver.is_stub) {
    // The driver is installed (its library loads) but its module is not in the kernel.
    return fail(kKernelDriver,
                "/proc/driver/nvidia/version does not exist although the driver's library is installed (" +
                    facts.driver.library.path + "): the nvidia kernel module is not loaded",
                "the NVIDIA driver is installed but its kernel module is not loaded",
                "load it (sudo modprobe nvidia) and read dmesg if that fails: Secure Boot refuses unsigned modules, "
                "and a kernel upgrade needs the module rebuilt (DKMS); a reboot after installing the driver does both");
  }
  return fail(kKernelDriver, "/proc/driver/nvidia/version does not exist: no NVIDIA kernel module is loaded",
              "no NVIDIA kernel driver is loaded (/proc/driver/nvidia/version is absent)",
              std::string("install the NVIDIA driver (Debian/Ubuntu: apt install nvidia-driver, then reboot) and "
                          "check that nvidia-smi lists the GPU") +
                  kInstallDriverInContainer);
}

Check driver_library(const Facts& facts) {
  const DriverFacts& d = facts.driver;
  const std::string fix = std::string(
                              "libcuda.so.1 comes with the NVIDIA driver, not with the CUDA toolkit: "
                              "install the driver") +
                          kInstallDriverInContainer;
  if (!d.library.loaded) {
    return fail(kDriverLibrary, d.library.error,
                "libcuda.so.1, the driver's library, cannot be loaded (" + d.library.error + ")", fix);
  }
  if (d.is_stub) {
    return fail(kDriverLibrary, d.library.path + " is the CUDA toolkit's stub, which is for linking only",
                "the libcuda.so.1 found (" + d.library.path + ") is the toolkit's link-time stub, not a driver",
                "remove the toolkit's stubs directory from LD_LIBRARY_PATH; " + fix);
  }
  const std::string version = d.library.version.known() ? "CUDA " + d.library.version.text(2) : "version unknown";
  return pass(kDriverLibrary, version + " driver API at " + d.library.path);
}

Check driver_supports_runtime(const Facts& facts, const Check& driver_library) {
  const Version driver = facts.driver.library.version.known() ? facts.driver.library.version : facts.plugin.driver;
  if (!driver.known()) {
    return driver_library.result == Result::pass ? skip(kDriverSupportsRuntime, "the driver did not report its version")
                                                 : skip_after(kDriverSupportsRuntime, driver_library);
  }
  const Version runtime = facts.plugin.built_runtime.known() ? facts.plugin.built_runtime : facts.build.cuda;
  if (!runtime.known()) {
    return skip(kDriverSupportsRuntime, "this build has no CUDA runtime to compare the driver with");
  }

  const std::string found =
      "the driver supports CUDA up to " + driver.text(2) + "; kerosene's runtime is CUDA " + runtime.text(2);
  const std::string minimum = minimum_driver(runtime.major);
  const std::string upgrade = "install an NVIDIA driver for CUDA " + runtime.text(2) + " or newer" +
                              (minimum.empty() ? "" : " (Linux driver " + minimum + " or newer)") +
                              ", or on a data-center GPU the cuda-compat package of CUDA " + runtime.text(2);
  if (driver.major > runtime.major || (driver.major == runtime.major && driver.minor >= runtime.minor)) {
    return pass(kDriverSupportsRuntime, found);
  }
  if (driver.major == runtime.major) {
    return warn(kDriverSupportsRuntime,
                found +
                    ": runs through CUDA's minor version compatibility, but PTX from the newer toolkit cannot "
                    "be JIT-compiled and the newest runtime features are unavailable",
                upgrade);
  }
  // A driver of an older CUDA major cannot run this build at all (CUDA 13 needs R580 or later):
  // say which driver it is, what it supports and the two ways out, in one sentence.
  const std::string number = driver_number(facts);
  const std::string verdict = (number.empty() ? "the driver" : "driver " + number) + " supports CUDA " +
                              driver.text(2) + "; this build needs " + runtime.text(2) +
                              ": upgrade the driver or build kerosene with a CUDA " + std::to_string(driver.major) +
                              " toolkit";
  return fail(kDriverSupportsRuntime, found, verdict,
              upgrade + "; or configure kerosene with a CUDA " + std::to_string(driver.major) +
                  " toolkit (cmake -DCUDAToolkit_ROOT=/usr/local/cuda-" + std::to_string(driver.major) +
                  ", with a cuDNN 9 for it)");
}

}  // namespace kerosene::doctor::checks
