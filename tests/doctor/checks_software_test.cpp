// The doctor's verdicts as a pure function of injected facts: the build, the plugin, the
// driver and the libraries, each broken in turn on an otherwise healthy machine.
#include <gtest/gtest.h>

#include "cli_util.h"
#include "healthy_machine.h"

namespace kerosene::doctor {
namespace {

using test::find_check;
using test::first_failure;
using test::healthy_machine;
using test::machine_without_driver;

TEST(DoctorChecksTest, AHealthyMachineTrainsOnTheGpu) {
  const Report r = diagnose(healthy_machine());
  EXPECT_TRUE(r.gpu_usable);
  EXPECT_EQ(r.device, "/GPU:0");
  EXPECT_EQ(r.verdict, "Training will run on /GPU:0 (NVIDIA H100 80GB HBM3)");
  EXPECT_TRUE(r.reason.empty());
  for (const Check& c : r.checks) EXPECT_EQ(c.result, Result::pass) << c.name << ": " << c.detail;
  EXPECT_EQ(r.checks.size(), 13u);
}

TEST(DoctorChecksTest, NoDriverFallsBackToTheCpuNamingTheKernelDriver) {
  const Report r = diagnose(machine_without_driver());
  EXPECT_FALSE(r.gpu_usable);
  EXPECT_EQ(r.device, "/CPU:0");
  EXPECT_EQ(first_failure(r), checks::kKernelDriver);
  EXPECT_EQ(r.verdict.rfind("Training will run on /CPU:0 because no NVIDIA kernel driver is loaded", 0), 0u)
      << r.verdict;
  KEROSENE_EXPECT_CONTAINS(r.verdict, "; fix: install the NVIDIA driver");
  KEROSENE_EXPECT_CONTAINS(r.fix, "--gpus all");
  // The plugin itself loaded; it says its runtime did not start.
  const Check& plugin = find_check(r, checks::kPluginLoads);
  EXPECT_EQ(plugin.result, Result::pass);
  KEROSENE_EXPECT_CONTAINS(plugin.detail, "cudaErrorInsufficientDriver");
  // libcuda's check carries the loader's own words; what depends on it is skipped, saying why.
  const Check& libcuda = find_check(r, checks::kDriverLibrary);
  EXPECT_EQ(libcuda.result, Result::fail);
  KEROSENE_EXPECT_CONTAINS(libcuda.detail, "libcuda.so.1: cannot open shared object file");
  for (const char* name : {checks::kDriverSupportsRuntime, checks::kGpusFound, checks::kKernelsCover}) {
    EXPECT_EQ(find_check(r, name).result, Result::skip) << name;
  }
  KEROSENE_EXPECT_CONTAINS(find_check(r, checks::kGpusFound).detail, "\"libcuda.so.1 (driver library)\" did not pass");
  // Checks that do not depend on the driver still run.
  EXPECT_EQ(find_check(r, checks::kCudnn).result, Result::pass);
}

TEST(DoctorChecksTest, AnInstalledDriverWhoseModuleIsNotLoadedSaysModprobe) {
  Facts f = machine_without_driver();
  f.driver.library = test::healthy_machine().driver.library;
  f.driver.init_result = 100;
  f.driver.init_error = "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)";
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kKernelDriver);
  KEROSENE_EXPECT_CONTAINS(r.reason, "the NVIDIA driver is installed but its kernel module is not loaded");
  KEROSENE_EXPECT_CONTAINS(r.fix, "sudo modprobe nvidia");
  EXPECT_EQ(find_check(r, checks::kDriverLibrary).result, Result::pass);
}

TEST(DoctorChecksTest, ADriverTooOldForTheRuntimeNamesTheMinimumDriver) {
  Facts f = healthy_machine();
  f.driver.library.version = {12, 4, 0};
  f.plugin.driver = {12, 4, 0};
  f.plugin.initialized = false;
  f.plugin.init_error = "cudaErrorInsufficientDriver";
  f.plugin.devices.clear();
  const Report r = diagnose(f);
  EXPECT_FALSE(r.gpu_usable);
  EXPECT_EQ(first_failure(r), checks::kDriverSupportsRuntime);
  KEROSENE_EXPECT_CONTAINS(r.reason, "supports CUDA 12.4; this build needs 13.0");
  KEROSENE_EXPECT_CONTAINS(find_check(r, checks::kDriverSupportsRuntime).detail,
                           "the driver supports CUDA up to 12.4; kerosene's runtime is CUDA 13.0");
  KEROSENE_EXPECT_CONTAINS(r.fix, "580.65.06");
  // The GPU is there, but the runtime cannot use it: that check fails too, with the runtime's words.
  const Check& found = find_check(r, checks::kGpusFound);
  EXPECT_EQ(found.result, Result::fail);
  KEROSENE_EXPECT_CONTAINS(found.detail, "cudaErrorInsufficientDriver");
}

// The exact verdict for a cluster's R550 driver and this CUDA 13 build (issue 9, defect 10).
TEST(DoctorChecksTest, AnOldDriverMajorSaysWhichDriverWhatItSupportsAndTheTwoWaysOut) {
  Facts f = healthy_machine();
  f.driver.library.version = {12, 4, 0};
  f.plugin.driver = {12, 4, 0};
  f.plugin.built_runtime = {13, 0, 0};
  f.nvml.driver_version = "550.54";
  f.plugin.initialized = false;
  f.plugin.init_error = "cudaErrorInsufficientDriver";
  f.plugin.devices.clear();
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kDriverSupportsRuntime);
  EXPECT_EQ(r.reason,
            "driver 550.54 supports CUDA 12.4; this build needs 13.0: upgrade the driver or build kerosene with a "
            "CUDA 12 toolkit");
  KEROSENE_EXPECT_CONTAINS(r.verdict, "Training will run on /CPU:0 because driver 550.54 supports CUDA 12.4");
  KEROSENE_EXPECT_CONTAINS(r.fix, "580.65.06");
  // Without NVML, the number comes from the kernel module's line.
  f.nvml.driver_version.clear();
  f.kernel_driver.version_line = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:14 UTC 2024";
  KEROSENE_EXPECT_CONTAINS(diagnose(f).reason, "driver 550.54.15 supports CUDA 12.4; this build needs 13.0");
}

TEST(DoctorChecksTest, AnOlderMinorDriverWarnsButTrainsOnTheGpu) {
  Facts f = healthy_machine();
  f.plugin.built_runtime = {13, 2, 0};
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kDriverSupportsRuntime);
  EXPECT_EQ(c.result, Result::warn);
  KEROSENE_EXPECT_CONTAINS(c.detail, "minor version compatibility");
  EXPECT_TRUE(r.gpu_usable);
}

TEST(DoctorChecksTest, ACudnnOfAnotherMajorFails) {
  Facts f = healthy_machine();
  f.cudnn = {"libcudnn.so.9", true, "/opt/cudnn/libcudnn.so.9", "", {8, 9, 7}};
  const Report r = diagnose(f);
  EXPECT_FALSE(r.gpu_usable);
  EXPECT_EQ(first_failure(r), checks::kCudnn);
  KEROSENE_EXPECT_CONTAINS(r.reason, "cuDNN 8.9.7 is loaded but kerosene was built with cuDNN 9.19.0");
  KEROSENE_EXPECT_CONTAINS(r.fix, "install cuDNN 9 for CUDA 13");
}

TEST(DoctorChecksTest, AnOlderCudnnMinorWarns) {
  Facts f = healthy_machine();
  f.cudnn.version = {9, 10, 2};
  const Report r = diagnose(f);
  EXPECT_EQ(find_check(r, checks::kCudnn).result, Result::warn);
  EXPECT_TRUE(r.gpu_usable);
}

TEST(DoctorChecksTest, AMissingCublasFailsWithTheLoadersWords) {
  Facts f = healthy_machine();
  f.cublas = {
      "libcublas.so.13", false, "", "libcublas.so.13: cannot open shared object file: No such file or directory", {}};
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kCublas);
  KEROSENE_EXPECT_CONTAINS(r.reason, "libcublas.so.13: cannot open shared object file");
}

TEST(DoctorChecksTest, AMissingNcclOnlyWarns) {
  Facts f = healthy_machine();
  f.nccl = {"libnccl.so.2", false, "", "libnccl.so.2: cannot open shared object file: No such file or directory", {}};
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kNccl);
  EXPECT_EQ(c.result, Result::warn);
  KEROSENE_EXPECT_CONTAINS(c.detail, "only training on several GPUs needs NCCL");
  EXPECT_TRUE(r.gpu_usable);
}

TEST(DoctorChecksTest, ABuildWithoutCudaSaysSoFirst) {
  Facts f = machine_without_driver();
  f.build = {false, "the build was configured with -DKEROSENE_WITH_CUDA=OFF", {}, {}, {}, {}, "", "/src/build"};
  f.plugin = {};
  f.plugin.load_error = "this build of kerosene has no CUDA plugin";
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kBuiltWithCuda);
  KEROSENE_EXPECT_CONTAINS(r.verdict,
                           "because this kerosene was built without CUDA (the build was configured with "
                           "-DKEROSENE_WITH_CUDA=OFF); fix: rebuild kerosene");
  EXPECT_EQ(find_check(r, checks::kPluginLoads).result, Result::skip);
  // Libraries found on such a machine are reported, not held against it.
  const Check& cudnn = find_check(r, checks::kCudnn);
  EXPECT_EQ(cudnn.result, Result::pass);
  KEROSENE_EXPECT_CONTAINS(cudnn.detail, "this build has no CUDA plugin that would use it");
}

TEST(DoctorChecksTest, APluginLoadErrorIsCarriedIntoTheDetailAndTheVerdict) {
  Facts f = healthy_machine();
  f.plugin = {};
  f.plugin.path = "/opt/k/libkerosene_cuda.so";
  f.plugin.tried = {
      "/opt/k/libkerosene_cuda.so: libcudnn.so.9: cannot open shared object file: No such file or directory"};
  f.plugin.load_error = "could not load libkerosene_cuda.so; tried: " + f.plugin.tried[0];
  const Report r = diagnose(f);
  EXPECT_EQ(first_failure(r), checks::kPluginLoads);
  const Check& c = find_check(r, checks::kPluginLoads);
  EXPECT_EQ(c.detail, f.plugin.load_error);  // the loader's own words, and the tried list once
  KEROSENE_EXPECT_CONTAINS(c.fix, "install libcudnn.so.9");
  KEROSENE_EXPECT_CONTAINS(r.verdict,
                           "because the CUDA plugin did not load: could not load libkerosene_cuda.so; tried: "
                           "/opt/k/libkerosene_cuda.so: libcudnn.so.9");
}

TEST(DoctorChecksTest, AMissingOverridePathIsBlamedOnTheVariable) {
  Facts f = healthy_machine();
  f.plugin = {};
  f.plugin_override = "/nonexistent/libkerosene_cuda.so";
  f.plugin.tried = {"/nonexistent/libkerosene_cuda.so: no such file"};
  f.plugin.load_error = "could not load libkerosene_cuda.so; tried: /nonexistent/libkerosene_cuda.so: no such file";
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kPluginLoads);
  EXPECT_EQ(c.result, Result::fail);
  KEROSENE_EXPECT_CONTAINS(c.fix,
                           "KEROSENE_CUDA_PLUGIN=/nonexistent/libkerosene_cuda.so does not name a loadable plugin");
}

TEST(DoctorChecksTest, TheToolkitsStubIsNotADriver) {
  Facts f = healthy_machine();
  f.driver.library.path = "/usr/local/cuda/lib64/stubs/libcuda.so.1";
  f.driver.is_stub = true;
  f.driver.init_result = 34;
  f.driver.init_error = "CUDA_ERROR_STUB_LIBRARY";
  const Report r = diagnose(f);
  const Check& c = find_check(r, checks::kDriverLibrary);
  EXPECT_EQ(c.result, Result::fail);
  KEROSENE_EXPECT_CONTAINS(c.detail, "stub");
  KEROSENE_EXPECT_CONTAINS(c.fix, "stubs directory from LD_LIBRARY_PATH");
}

}  // namespace
}  // namespace kerosene::doctor
