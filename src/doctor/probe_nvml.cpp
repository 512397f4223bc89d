// Probe of NVML (libnvidia-ml.so.1, installed with the driver): the machine's physical GPUs,
// which CUDA_VISIBLE_DEVICES does not filter, their MIG instances, and the processes using them.
#include <unistd.h>

#include <climits>
#include <fstream>

#include "doctor/dl_library.h"
#include "doctor/probes.h"

namespace kerosene::doctor {
namespace {

using NvmlDevice = void*;  // nvmlDevice_t
using NvmlInit = int (*)();
using NvmlErrorString = const char* (*)(int result);
using NvmlGetDriverVersion = int (*)(char* version, unsigned length);
using NvmlGetCount = int (*)(unsigned* count);
using NvmlGetHandle = int (*)(unsigned index, NvmlDevice* device);
using NvmlGetText = int (*)(NvmlDevice device, char* text, unsigned length);
struct NvmlMemory {
  unsigned long long total, free, used;
};
using NvmlGetMemory = int (*)(NvmlDevice device, NvmlMemory* memory);
using NvmlGetMigMode = int (*)(NvmlDevice device, unsigned* current, unsigned* pending);
using NvmlGetMigCount = int (*)(NvmlDevice device, unsigned* count);
using NvmlGetMigHandle = int (*)(NvmlDevice device, unsigned index, NvmlDevice* mig);
// nvmlProcessInfo_v1_t and nvmlProcessInfo_v2_t, for the _v1 (unversioned) and _v2 symbols.
struct NvmlProcessV1 {
  unsigned pid;
  unsigned long long used_memory;
};
struct NvmlProcessV2 {
  unsigned pid;
  unsigned long long used_memory;
  unsigned gpu_instance, compute_instance;
};
template <typename Info>
using NvmlGetProcesses = int (*)(NvmlDevice device, unsigned* count, Info* infos);

const int kNvmlSuccess = 0, kNvmlInsufficientSize = 7;
const unsigned kNvmlMigEnabled = 1;

std::string process_name(unsigned pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

template <typename Info>
bool read_processes(NvmlGetProcesses<Info> get, NvmlDevice device, std::vector<GpuProcess>& out) {
  std::vector<Info> infos(64);
  unsigned count = static_cast<unsigned>(infos.size());
  int rc = get(device, &count, infos.data());
  if (rc == kNvmlInsufficientSize) {
    infos.resize(count + 16);
    count = static_cast<unsigned>(infos.size());
    rc = get(device, &count, infos.data());
  }
  if (rc != kNvmlSuccess) return false;
  for (unsigned i = 0; i < count && i < infos.size(); ++i) {
    if (infos[i].pid == static_cast<unsigned>(getpid())) continue;
    // NVML_VALUE_NOT_AVAILABLE (all ones) where the memory cannot be read, as in some containers.
    const size_t used = infos[i].used_memory == ULLONG_MAX ? 0 : infos[i].used_memory;
    out.push_back({infos[i].pid, process_name(infos[i].pid), used});
  }
  return true;
}

std::vector<std::string> mig_uuids(void* lib, NvmlDevice device, NvmlGetText get_uuid) {
  std::vector<std::string> out;
  auto mode = find_symbol<NvmlGetMigMode>(lib, "nvmlDeviceGetMigMode");
  auto max_count = find_symbol<NvmlGetMigCount>(lib, "nvmlDeviceGetMaxMigDeviceCount");
  auto handle = find_symbol<NvmlGetMigHandle>(lib, "nvmlDeviceGetMigDeviceHandleByIndex");
  unsigned current = 0, pending = 0, count = 0;
  if (!mode || !max_count || !handle || mode(device, &current, &pending) != kNvmlSuccess ||
      current != kNvmlMigEnabled || max_count(device, &count) != kNvmlSuccess) {
    return out;
  }
  for (unsigned i = 0; i < count; ++i) {
    NvmlDevice mig = nullptr;
    char uuid[96] = {};
    if (handle(device, i, &mig) == kNvmlSuccess && get_uuid(mig, uuid, sizeof uuid) == kNvmlSuccess) {
      out.push_back(uuid);
    }
  }
  return out;
}

NvmlGpu read_gpu(void* lib, NvmlDevice device) {
  NvmlGpu g;
  char text[96] = {};
  auto get_name = find_symbol<NvmlGetText>(lib, "nvmlDeviceGetName");
  auto get_uuid = find_symbol<NvmlGetText>(lib, "nvmlDeviceGetUUID");
  if (get_name && get_name(device, text, sizeof text) == kNvmlSuccess) g.device.name = text;
  if (get_uuid && get_uuid(device, text, sizeof text) == kNvmlSuccess) g.device.uuid = text;
  NvmlMemory memory{};
  auto get_memory = find_symbol<NvmlGetMemory>(lib, "nvmlDeviceGetMemoryInfo");
  if (get_memory && get_memory(device, &memory) == kNvmlSuccess) {
    g.device.total_memory = memory.total;
    g.device.free_memory = memory.free;
    g.used_memory = memory.used;
  }
  if (get_uuid) g.mig_uuids = mig_uuids(lib, device, get_uuid);
  auto v2 = find_symbol<NvmlGetProcesses<NvmlProcessV2>>(lib, "nvmlDeviceGetComputeRunningProcesses_v2");
  if (!v2 || !read_processes(v2, device, g.processes)) {
    if (auto v1 = find_symbol<NvmlGetProcesses<NvmlProcessV1>>(lib, "nvmlDeviceGetComputeRunningProcesses")) {
      read_processes(v1, device, g.processes);
    }
  }
  return g;
}

}  // namespace

NvmlFacts probe_nvml() {
  NvmlFacts n;
  const OpenedLibrary lib = open_library("libnvidia-ml.so.1");
  if (!lib.handle) {
    n.error = lib.error;
    return n;
  }
  auto init = find_symbol<NvmlInit>(lib.handle, "nvmlInit_v2");
  auto error_string = find_symbol<NvmlErrorString>(lib.handle, "nvmlErrorString");
  const int rc = init ? init() : -1;
  if (rc != kNvmlSuccess) {
    n.error = !init
                  ? lib.path + " has no nvmlInit_v2"
                  : "nvmlInit_v2 failed: " + std::string(error_string ? error_string(rc) : std::to_string(rc).c_str());
    return n;
  }
  n.loaded = true;
  char version[96] = {};
  auto driver_version = find_symbol<NvmlGetDriverVersion>(lib.handle, "nvmlSystemGetDriverVersion");
  if (driver_version && driver_version(version, sizeof version) == kNvmlSuccess) n.driver_version = version;
  unsigned count = 0;
  auto get_count = find_symbol<NvmlGetCount>(lib.handle, "nvmlDeviceGetCount_v2");
  auto get_handle = find_symbol<NvmlGetHandle>(lib.handle, "nvmlDeviceGetHandleByIndex_v2");
  if (get_count && get_handle && get_count(&count) == kNvmlSuccess) {
    for (unsigned i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      // A GPU NVML cannot open keeps its place, so that indices stay nvidia-smi's.
      const int handle_rc = get_handle(i, &device);
      if (handle_rc == kNvmlSuccess) {
        n.gpus.push_back(read_gpu(lib.handle, device));
      } else {
        n.gpus.emplace_back().device.name =
            std::string("(NVML cannot open it: ") + (error_string ? error_string(handle_rc) : "error") + ")";
      }
    }
  }
  if (auto shutdown = find_symbol<NvmlInit>(lib.handle, "nvmlShutdown")) shutdown();
  return n;
}

}  // namespace kerosene::doctor
