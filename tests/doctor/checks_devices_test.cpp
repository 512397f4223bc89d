// The doctor's verdicts about devices, from injected facts: CUDA_VISIBLE_DEVICES, the GPUs the
// driver shows, set_visible_devices, kernel coverage, and memory other processes hold.
#include <gtest/gtest.h>

#include "cli_util.h"
#include "doctor/arch_coverage.h"
#include "healthy_machine.h"

namespace kerosene::doctor {
namespace {

using test::find_check;
using test::first_failure;
using test::healthy_machine;
using test::kH100;

// What CUDA does when CUDA_VISIBLE_DEVICES hides everything: cuInit fails with no device.
Facts hidden_by_cuda_visible_devices(const std::string& value) {
  Facts f = healthy_machine();
  f.cuda_visible_devices = value;
  f.driver.init_result = 100;
  f.driver.init_error = "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)";
  f.driver.devices.clear();
  f.plugin.initialized = false;
  f.plugin.init_error = "cudaErrorNoDevice";
  f.plugin.devices.clear();
  f.kerosene.physical_gpus.clear();
  f.kerosene.visible_gpus.clear();
  return f;
}

TEST(DoctorDeviceChecksTest, CudaVisibleDevicesMinusOneHidesEveryGpu) {
  const Report r = diagnose(hidden_by_cuda_visible_devices("-1"));
  EXPECT_FALSE(r.gpu_usable);
  EXPECT_EQ(first_failure(r), checks::kVisibleDevices);
  KEROSENE_EXPECT_CONTAINS(r.verdict, "because CUDA_VISIBLE_DEVICES=\"-1\" hides every GPU");
  KEROSENE_EXPECT_CONTAINS(r.fix, "unset CUDA_VISIBLE_DEVICES");
  // NVML still sees the GPU, so the check names what is hidden.
  KEROSENE_EXPECT_CONTAINS(find_check(r, checks::kVisibleDevices).detail, "hides every GPU");
  const Check& found = find_check(r, checks::kGpusFound);
  EXPECT_EQ(found.result, Result::fail);
  KEROSENE_EXPECT_CONTAINS(found.detail, "CUDA_ERROR_NO_DEVICE");
  KEROSENE_EXPECT_CONTAINS(found.fix, "CUDA_VISIBLE_DEVICES");
}

TEST(DoctorDeviceChecksTest, AUuidThatMatchesNoGpuHidesEveryGpu) {
  const Report r = diagnose(hidden_by_cuda_visible_devices("GPU-deadbeef"));
  EXPECT_EQ(first_failure(r), checks::kVisibleDevices);
  KEROSENE_EXPECT_CONTAINS(r.reason, "CUDA_VISIBLE_DEVICES=\"GPU-deadbeef\" hides every GPU");
  KEROSENE_EXPECT_CONTAINS(r.reason, "matches no GPU's UUID");
}

TEST(DoctorDeviceChecksTest, AnEntryThatStopsTheListAfterValidOnesWarns) {
  Facts f = healthy_machine();
  f.cuda_visible_devices = "0,5";
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kVisibleDevices);
  EXPECT_EQ(c.result, Result::warn);
  KEROSENE_EXPECT_CONTAINS(c.fix, "correct or remove \"5\"");
  EXPECT_TRUE(r.gpu_usable);
}

TEST(DoctorDeviceChecksTest, WithoutNvmlTheVariableIsReportedUnchecked) {
  Facts f = healthy_machine();
  f.nvml = {false, "libnvidia-ml.so.1: cannot open shared object file", "", {}};
  f.cuda_visible_devices = "GPU-8d5a";
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kVisibleDevices);
  EXPECT_EQ(c.result, Result::pass);
  KEROSENE_EXPECT_CONTAINS(c.detail, "selects GPU-8d5a (without NVML");
  EXPECT_EQ(find_check(r, checks::kMemoryHeld).result, Result::skip);
  EXPECT_TRUE(r.gpu_usable);
}

TEST(DoctorDeviceChecksTest, NoGpuFoundNamesCuInitsError) {
  Facts f = healthy_machine();
  f.driver.init_result = 999;
  f.driver.init_error = "CUDA_ERROR_UNKNOWN (unknown error)";
  f.driver.devices.clear();
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kGpusFound);
  KEROSENE_EXPECT_CONTAINS(r.reason, "the CUDA driver cannot start (cuInit: CUDA_ERROR_UNKNOWN (unknown error))");
  KEROSENE_EXPECT_CONTAINS(r.fix, "nvidia_uvm");
}

TEST(DoctorDeviceChecksTest, TheGpusAreListedWithFreeMemoryFromThePlugin) {
  const Report r = diagnose(healthy_machine());
  const Check& c = find_check(r, checks::kGpusFound);
  EXPECT_EQ(c.detail, "GPU 0: NVIDIA H100 80GB HBM3, compute capability 9.0, 80.0 GiB total, 79.0 GiB free");
}

TEST(DoctorDeviceChecksTest, SetVisibleDevicesHidingEveryGpuFails) {
  Facts f = healthy_machine();
  f.kerosene.visible_gpus.clear();
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kVisibleToKerosene);
  KEROSENE_EXPECT_CONTAINS(r.reason, "set_visible_devices hid every GPU");
}

TEST(DoctorDeviceChecksTest, TheVerdictNamesTheFirstGpuKeroseneSees) {
  Facts f = healthy_machine();
  GpuDevice a100 = kH100;
  a100.name = "NVIDIA A100-SXM4-40GB";
  a100.uuid = "GPU-77aa88bb-9999-8888-7777-666655554444";
  a100.compute_major = 8;
  f.driver.devices.push_back(a100);
  f.plugin.devices.push_back(a100);
  f.kerosene.physical_gpus = {"/physical_device:GPU:0", "/physical_device:GPU:1"};
  f.kerosene.visible_gpus = {"/physical_device:GPU:1"};
  EXPECT_EQ(diagnose(f).verdict, "Training will run on /GPU:0 (NVIDIA A100-SXM4-40GB)");
}

TEST(DoctorDeviceChecksTest, AGpuTheKernelsDoNotCoverFails) {
  Facts f = healthy_machine();
  f.driver.devices[0].name = "Tesla T4";
  f.driver.devices[0].compute_major = 7;
  f.driver.devices[0].compute_minor = 5;
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kKernelsCover);
  KEROSENE_EXPECT_CONTAINS(r.reason, "cannot run on GPU 0 (Tesla T4, compute capability 7.5)");
  KEROSENE_EXPECT_CONTAINS(r.fix, "-DKEROSENE_CUDA_ARCHITECTURES=\"75-real;80-real;90-real;90-virtual\"");
}

TEST(DoctorDeviceChecksTest, AGpuCoveredOnlyByPtxWarnsAboutTheFirstStart) {
  Facts f = healthy_machine();
  f.driver.devices[0].name = "NVIDIA B200";
  f.driver.devices[0].compute_major = 10;
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kKernelsCover);
  EXPECT_EQ(c.result, Result::warn);
  KEROSENE_EXPECT_CONTAINS(c.detail, "JIT-compiled from compute_90 PTX");
  EXPECT_TRUE(r.gpu_usable);
}

TEST(DoctorDeviceChecksTest, KernelCoverageFollowsCudasRules) {
  const std::string archs = "sm_80 sm_90 compute_90";
  EXPECT_EQ(kernel_coverage(archs, 8, 0).arch, "sm_80");
  EXPECT_EQ(kernel_coverage(archs, 8, 6).arch, "sm_80");  // same major, newer minor: binary compatible
  EXPECT_EQ(kernel_coverage(archs, 8, 9).coverage, Coverage::native);
  EXPECT_EQ(kernel_coverage(archs, 9, 0).arch, "sm_90");
  EXPECT_EQ(kernel_coverage(archs, 12, 0).coverage, Coverage::ptx_jit);
  EXPECT_EQ(kernel_coverage(archs, 7, 5).coverage, Coverage::none);
  EXPECT_EQ(kernel_coverage("sm_86", 8, 0).coverage, Coverage::none);  // older minor is not
  EXPECT_EQ(kernel_coverage("sm_90a", 9, 0).coverage, Coverage::native);
  EXPECT_EQ(kernel_coverage("sm_90a compute_90a", 10, 0).coverage, Coverage::none);  // arch-specific
  EXPECT_EQ(kernel_coverage("compute_75", 8, 0).coverage, Coverage::ptx_jit);
  EXPECT_EQ(kernel_coverage("sm_100 sm_120", 12, 1).arch, "sm_120");
  EXPECT_EQ(kernel_coverage("", 9, 0).coverage, Coverage::none);
}

TEST(DoctorDeviceChecksTest, MemoryHeldByOthersWarnsAboveHalfADevice) {
  Facts f = healthy_machine();
  f.nvml.gpus[0].processes = {{4242, "python3", size_t{50} << 30}};
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kMemoryHeld);
  EXPECT_EQ(c.result, Result::warn);
  KEROSENE_EXPECT_CONTAINS(c.detail, "pid 4242 (python3) 50.0 GiB of 80.0 GiB");
  EXPECT_TRUE(r.gpu_usable);

  f.nvml.gpus[0].processes = {{4242, "python3", size_t{2} << 30}};
  EXPECT_EQ(find_check(diagnose(f), checks::kMemoryHeld).result, Result::pass);
}

}  // namespace
}  // namespace kerosene::doctor
