// Probes of the NVIDIA driver: its kernel module (/proc/driver/nvidia) and its library
// libcuda.so.1, through the driver API (dlsym only: the core never links CUDA).
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "doctor/dl_library.h"
#include "doctor/probes.h"

namespace kerosene::doctor {
namespace {

// The driver API, with plain C types (CUresult and CUdevice are ints; CUuuid is 16 bytes).
using CuInit = int (*)(unsigned flags);
using CuDriverGetVersion = int (*)(int* version);
using CuDeviceGetCount = int (*)(int* count);
using CuDeviceGet = int (*)(int* device, int ordinal);
using CuDeviceGetName = int (*)(char* name, int length, int device);
using CuDeviceTotalMem = int (*)(size_t* bytes, int device);
using CuDeviceGetAttribute = int (*)(int* value, int attribute, int device);
using CuDeviceGetUuid = int (*)(unsigned char (*uuid)[16], int device);
using CuGetErrorText = int (*)(int error, const char** text);

const int kAttributeComputeCapabilityMajor = 75, kAttributeComputeCapabilityMinor = 76;
const int kCudaErrorStubLibrary = 34;

std::string uuid_text(const unsigned char (&bytes)[16]) {
  char text[48];
  std::snprintf(text, sizeof text, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", bytes[0],
                bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
  return text;
}

// "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)".
std::string error_text(void* handle, int code) {
  const char* name = nullptr;
  const char* text = nullptr;
  if (auto get_name = find_symbol<CuGetErrorText>(handle, "cuGetErrorName")) get_name(code, &name);
  if (auto get_string = find_symbol<CuGetErrorText>(handle, "cuGetErrorString")) get_string(code, &text);
  std::string out = name ? name : "CUresult " + std::to_string(code);
  return text ? out + " (" + text + ")" : out;
}

GpuDevice read_device(void* handle, int ordinal) {
  GpuDevice d;
  int device = 0;
  auto get = find_symbol<CuDeviceGet>(handle, "cuDeviceGet");
  if (!get || get(&device, ordinal) != 0) return d;
  char name[256] = {};
  if (auto get_name = find_symbol<CuDeviceGetName>(handle, "cuDeviceGetName")) get_name(name, sizeof name - 1, device);
  d.name = name;
  if (auto total = find_symbol<CuDeviceTotalMem>(handle, "cuDeviceTotalMem_v2")) total(&d.total_memory, device);
  if (auto attribute = find_symbol<CuDeviceGetAttribute>(handle, "cuDeviceGetAttribute")) {
    attribute(&d.compute_major, kAttributeComputeCapabilityMajor, device);
    attribute(&d.compute_minor, kAttributeComputeCapabilityMinor, device);
  }
  auto get_uuid = find_symbol<CuDeviceGetUuid>(handle, "cuDeviceGetUuid_v2");
  if (!get_uuid) get_uuid = find_symbol<CuDeviceGetUuid>(handle, "cuDeviceGetUuid");
  unsigned char uuid[16] = {};
  if (get_uuid && get_uuid(&uuid, device) == 0) d.uuid = uuid_text(uuid);
  return d;
}

}  // namespace

KernelDriverFacts probe_kernel_driver() {
  KernelDriverFacts k;
  std::ifstream version("/proc/driver/nvidia/version");
  if (version && std::getline(version, k.version_line)) {
    k.present = true;
    const size_t end = k.version_line.find_last_not_of(" \t\r");
    k.version_line.resize(end == std::string::npos ? 0 : end + 1);
  }
  std::error_code ignored;
  k.wsl = std::filesystem::exists("/dev/dxg", ignored);
  return k;
}

DriverFacts probe_driver() {
  DriverFacts d;
  d.library.soname = "libcuda.so.1";
  const OpenedLibrary lib = open_library(d.library.soname);
  d.library.loaded = lib.handle != nullptr;
  d.library.path = lib.path;
  d.library.error = lib.error;
  if (!lib.handle) return d;
  d.is_stub = lib.path.find("/stubs/") != std::string::npos;

  // cuDriverGetVersion works before cuInit, and without a device.
  int version = 0;
  auto get_version = find_symbol<CuDriverGetVersion>(lib.handle, "cuDriverGetVersion");
  if (!get_version) {
    d.library.error = lib.path + " has no cuDriverGetVersion";
  } else if (const int rc = get_version(&version); rc != 0) {
    d.library.error = "cuDriverGetVersion failed: " + error_text(lib.handle, rc);
  }
  d.library.version = cuda_version_from_int(version);

  auto init = find_symbol<CuInit>(lib.handle, "cuInit");
  if (!init) return d;
  d.init_result = init(0);
  if (*d.init_result != 0) {
    d.init_error = error_text(lib.handle, *d.init_result);
    d.is_stub = d.is_stub || *d.init_result == kCudaErrorStubLibrary;
    return d;
  }
  int count = 0;
  auto get_count = find_symbol<CuDeviceGetCount>(lib.handle, "cuDeviceGetCount");
  if (get_count && get_count(&count) == 0) {
    for (int i = 0; i < count; ++i) d.devices.push_back(read_device(lib.handle, i));
  }
  return d;
}

}  // namespace kerosene::doctor
