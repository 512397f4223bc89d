// A machine where everything works, as Facts: one H100, driver 580 (CUDA 13.0), the build's
// libraries, no CUDA_VISIBLE_DEVICES. Each test breaks one thing and looks at the diagnosis.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "doctor/checks.h"
#include "doctor/facts.h"

namespace kerosene::doctor::test {

inline const GpuDevice kH100 = {
    "NVIDIA H100 80GB HBM3", "GPU-8d5a1c2e-0000-1111-2222-333344445555", 9, 0, size_t{80} << 30, size_t{79} << 30};

inline Facts healthy_machine() {
  Facts f;
  f.build = {true, "", {13, 0, 88}, {9, 19, 0}, {13, 1, 0}, {2, 28, 9}, "sm_80 sm_90 compute_90", "/src/build"};
  f.plugin.loaded = true;
  f.plugin.path = "/src/build/libkerosene_cuda.so";
  f.plugin.built_runtime = {13, 0, 0};
  f.plugin.driver = {13, 0, 0};
  f.plugin.cublas = {13, 1, 0};
  f.plugin.cudnn = {9, 19, 0};
  f.plugin.architectures = "sm_80 sm_90 compute_90";
  f.plugin.initialized = true;
  f.plugin.devices = {kH100};
  f.kernel_driver = {true, "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.65.06", false};
  f.driver.library = {"libcuda.so.1", true, "/usr/lib/x86_64-linux-gnu/libcuda.so.1", "", {13, 0, 0}};
  f.driver.init_result = 0;
  GpuDevice from_driver = kH100;
  from_driver.free_memory.reset();  // the driver API needs a context for free memory
  f.driver.devices = {from_driver};
  f.cublas = {"libcublas.so.13", true, "/usr/local/cuda/lib64/libcublas.so.13", "", {13, 1, 0}};
  f.cudnn = {"libcudnn.so.9", true, "/usr/local/cuda/lib64/libcudnn.so.9", "", {9, 19, 0}};
  f.nccl = {"libnccl.so.2", true, "/usr/local/cuda/lib64/libnccl.so.2", "", {2, 28, 9}};
  f.nvml.loaded = true;
  f.nvml.driver_version = "580.65.06";
  f.nvml.gpus = {NvmlGpu{kH100, {}, size_t{1} << 30, {}}};
  f.kerosene = {true, "", {"/physical_device:GPU:0"}, {"/physical_device:GPU:0"}};
  return f;
}

/// The driver is gone: no kernel module, no libcuda.so.1; the plugin loads but its runtime fails.
inline Facts machine_without_driver() {
  Facts f = healthy_machine();
  f.kernel_driver = {};
  f.driver = {};
  f.driver.library = {
      "libcuda.so.1", false, "", "libcuda.so.1: cannot open shared object file: No such file or directory", {}};
  f.plugin.driver = {};
  f.plugin.initialized = false;
  f.plugin.init_error = "cudaGetDeviceCount: cudaErrorInsufficientDriver (CUDA driver version is insufficient)";
  f.plugin.devices.clear();
  f.nvml = {false, "libnvidia-ml.so.1: cannot open shared object file: No such file or directory", "", {}};
  f.kerosene.physical_gpus.clear();
  f.kerosene.visible_gpus.clear();
  return f;
}

// By value, so that find_check(diagnose(f), ...) outlives the temporary report.
inline Check find_check(const Report& r, const std::string& name) {
  auto it = std::find_if(r.checks.begin(), r.checks.end(), [&](const Check& c) { return c.name == name; });
  if (it == r.checks.end()) throw std::runtime_error("no check named \"" + name + "\"");
  return *it;
}

inline std::string first_failure(const Report& r) {
  auto it = std::find_if(r.checks.begin(), r.checks.end(), [](const Check& c) { return c.result == Result::fail; });
  return it == r.checks.end() ? "" : it->name;
}

}  // namespace kerosene::doctor::test
