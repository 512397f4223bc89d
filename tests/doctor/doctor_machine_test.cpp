// The doctor on this machine as it really is, in-process and through the `kerosene` command,
// plus faults injected through the environment. Every assertion follows what is true here:
// whether this build has CUDA (kerosene_build_info.h) and whether the machine has a driver.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "cli_util.h"
#include "doctor/checks.h"
#include "kerosene/doctor.h"
#include "kerosene_build_info.h"

namespace kerosene::doctor {
namespace {

using test_util::CommandResult;
using test_util::run_cli;

const bool kBuiltWithCuda = KEROSENE_BUILT_WITH_CUDA != 0;

bool machine_has_driver() {
  std::error_code ignored;
  return std::filesystem::exists("/proc/driver/nvidia/version", ignored) ||
         std::filesystem::exists("/dev/dxg", ignored);
}

#define SKIP_UNLESS_NO_DRIVER() \
  if (machine_has_driver()) GTEST_SKIP() << "this machine has an NVIDIA driver; this test covers one without"

// The first check a machine without a driver fails: the build's, when it has no CUDA.
const char* expected_first_failure() { return kBuiltWithCuda ? checks::kKernelDriver : checks::kBuiltWithCuda; }

// The environment of a plain run: nothing injected, whatever the test runner's environment holds.
// (run_cli puts the unsets first, as env(1) needs.)
const std::vector<std::pair<std::string, std::string>> kClean = {{"KEROSENE_CUDA_PLUGIN", ""},
                                                                 {"CUDA_VISIBLE_DEVICES", ""}};

nlohmann::json doctor_json(std::vector<std::pair<std::string, std::string>> env) {
  const CommandResult r = run_cli({"doctor", "--json"}, env);
  EXPECT_EQ(r.exit_code, 1) << describe(r);  // callers run only where no GPU is usable
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << describe(r);
  return j.is_object() ? j : nlohmann::json::object({{"checks", nlohmann::json::array()}});
}

nlohmann::json check_in(const nlohmann::json& report, const std::string& name) {
  for (const auto& c : report["checks"]) {
    if (c["name"] == name) return c;
  }
  ADD_FAILURE() << "no check \"" << name << "\" in " << report.dump(2);
  return nlohmann::json::object({{"result", ""}, {"detail", ""}});
}

std::string first_failure(const nlohmann::json& report) {
  for (const auto& c : report["checks"]) {
    if (c["result"] == "fail") return c["name"];
  }
  return "";
}

TEST(DoctorMachineTest, WithoutADriverTheVerdictIsTheCpuAndSaysWhy) {
  SKIP_UNLESS_NO_DRIVER();
  const Report r = diagnose();
  EXPECT_FALSE(r.gpu_usable);
  EXPECT_EQ(r.device, "/CPU:0");
  EXPECT_EQ(r.verdict.rfind("Training will run on /CPU:0 because ", 0), 0u) << r.verdict;
  const auto failed =
      std::find_if(r.checks.begin(), r.checks.end(), [](const Check& c) { return c.result == Result::fail; });
  ASSERT_NE(failed, r.checks.end());
  EXPECT_EQ(failed->name, expected_first_failure()) << r.to_text();
  for (const Check& c : r.checks) {
    if (c.name == checks::kKernelDriver) {
      EXPECT_EQ(c.result, Result::fail) << c.detail;
    }
    if (c.name == checks::kPluginLoads && kBuiltWithCuda) {
      EXPECT_EQ(c.result, Result::pass) << c.detail;
    }
  }
}

TEST(DoctorMachineTest, TheInstalledCublasAndCudnnAreFoundWithTheirVersions) {
  const Report r = diagnose();
  for (const Check& c : r.checks) {
    if (c.name != checks::kCublas && c.name != checks::kCudnn) continue;
    if (!kBuiltWithCuda && c.result == Result::skip) GTEST_SKIP() << "no CUDA toolkit here: " << c.detail;
    EXPECT_EQ(c.result, Result::pass) << c.name << ": " << c.detail;
    EXPECT_TRUE(std::regex_search(c.detail, std::regex(c.name + " [0-9]+\\.[0-9]+\\.[0-9]+ at /"))) << c.detail;
    const std::string built = c.name == checks::kCublas ? KEROSENE_BUILD_CUBLAS_VERSION : KEROSENE_BUILD_CUDNN_VERSION;
    if (kBuiltWithCuda) {
      KEROSENE_EXPECT_CONTAINS(c.detail, "kerosene was built with " + built);
    }
  }
}

TEST(DoctorMachineTest, DiagnoseLeavesTheRuntimeUninitialized) {
  test_util::run_in_fresh_process([] {
    const Report r = diagnose();
    FRESH_CHECK(!r.verdict.empty());
    FRESH_CHECK_MSG(!config::is_runtime_initialized(), config::runtime_initialized_by());
  });
}

TEST(DoctorMachineTest, TheDoctorCommandPrintsEveryCheckAndTheVerdict) {
  SKIP_UNLESS_NO_DRIVER();
  const CommandResult r = run_cli({"doctor"}, kClean);
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "[FAIL] NVIDIA kernel driver: ");
  KEROSENE_EXPECT_CONTAINS(r.out, "\n       fix: ");
  KEROSENE_EXPECT_CONTAINS(r.out, "\n\nTraining will run on /CPU:0 because ");
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(DoctorMachineTest, TheDoctorCommandsJsonSaysNoGpu) {
  SKIP_UNLESS_NO_DRIVER();
  const nlohmann::json j = doctor_json(kClean);
  EXPECT_EQ(j["gpu_usable"], false);
  EXPECT_EQ(j["device"], "/CPU:0");
  EXPECT_EQ(j["checks"].size(), 13u);
  EXPECT_EQ(first_failure(j), expected_first_failure());
  EXPECT_EQ(check_in(j, checks::kKernelDriver)["result"], "fail");
}

TEST(DoctorMachineTest, AMissingPluginPathIsReportedWithTheLoadersText) {
  SKIP_UNLESS_NO_DRIVER();
  const nlohmann::json j =
      doctor_json({{"CUDA_VISIBLE_DEVICES", ""}, {"KEROSENE_CUDA_PLUGIN", "/nonexistent/libkerosene_cuda.so"}});
  const nlohmann::json plugin = check_in(j, checks::kPluginLoads);
  EXPECT_EQ(plugin["result"], "fail");
  KEROSENE_EXPECT_CONTAINS(plugin["detail"].get<std::string>(), "/nonexistent/libkerosene_cuda.so");
  KEROSENE_EXPECT_CONTAINS(plugin["fix"].get<std::string>(), "KEROSENE_CUDA_PLUGIN");
  // With CUDA built in, the plugin is the first thing missing; without, the build is.
  EXPECT_EQ(first_failure(j), kBuiltWithCuda ? checks::kPluginLoads : checks::kBuiltWithCuda);
}

TEST(DoctorMachineTest, CudaVisibleDevicesMinusOneIsReported) {
  SKIP_UNLESS_NO_DRIVER();
  const nlohmann::json j = doctor_json({{"KEROSENE_CUDA_PLUGIN", ""}, {"CUDA_VISIBLE_DEVICES", "-1"}});
  const nlohmann::json visible = check_in(j, checks::kVisibleDevices);
  EXPECT_EQ(visible["result"], "fail");
  KEROSENE_EXPECT_CONTAINS(visible["detail"].get<std::string>(), "CUDA_VISIBLE_DEVICES=\"-1\" hides every GPU");
  EXPECT_EQ(first_failure(j), expected_first_failure());  // the missing driver comes first here
}

TEST(DoctorMachineTest, AUuidThatMatchesNothingIsReported) {
  SKIP_UNLESS_NO_DRIVER();
  const nlohmann::json j = doctor_json({{"KEROSENE_CUDA_PLUGIN", ""}, {"CUDA_VISIBLE_DEVICES", "GPU-deadbeef"}});
  const nlohmann::json visible = check_in(j, checks::kVisibleDevices);
  const std::string detail = visible["detail"];
  KEROSENE_EXPECT_CONTAINS(detail, "CUDA_VISIBLE_DEVICES=\"GPU-deadbeef\"");
  if (check_in(j, checks::kMemoryHeld)["result"] == "skip") {
    // Without NVML nothing lists the machine's GPUs, so the UUID cannot be refuted: it is reported.
    EXPECT_EQ(visible["result"], "pass");
    KEROSENE_EXPECT_CONTAINS(detail, "without NVML the entries cannot be checked");
  } else {
    EXPECT_EQ(visible["result"], "fail");
    KEROSENE_EXPECT_CONTAINS(detail, "matches no GPU's UUID");
  }
  EXPECT_EQ(first_failure(j), expected_first_failure());
}

TEST(DoctorMachineTest, TheDevicesCommandListsTheCpu) {
  const CommandResult r = run_cli({"devices", "--json"}, kClean);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << describe(r);
  ASSERT_FALSE(j["physical_devices"].empty());
  EXPECT_EQ(j["physical_devices"][0]["name"], "/physical_device:CPU:0");
  EXPECT_FALSE(j["physical_devices"][0]["device_name"].get<std::string>().empty());
  ASSERT_FALSE(j["logical_devices"].empty());
  EXPECT_EQ(j["logical_devices"][0]["name"], "/device:CPU:0");
  for (const char* key : {"current", "peak", "reserved", "limit"}) {
    EXPECT_TRUE(j["logical_devices"][0]["memory"].contains(key)) << key;
  }
}

TEST(DoctorMachineTest, TheDevicesCommandsTextPointsAtTheDoctorWhenThereIsNoGpu) {
  SKIP_UNLESS_NO_DRIVER();
  const CommandResult r = run_cli({"devices"}, kClean);
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "Physical devices:\n  /physical_device:CPU:0  ");
  KEROSENE_EXPECT_CONTAINS(r.out, "Logical devices:\n  /device:CPU:0  in use ");
  KEROSENE_EXPECT_CONTAINS(r.out, "kerosene doctor");
}

TEST(DoctorMachineTest, WithADriverAndCudaTheVerdictIsTheGpu) {
  if (!machine_has_driver()) GTEST_SKIP() << "no NVIDIA driver on this machine (/proc/driver/nvidia/version absent)";
  if (!kBuiltWithCuda) GTEST_SKIP() << "this build has no CUDA: " << KEROSENE_BUILD_WITHOUT_CUDA_REASON;
  const CommandResult r = run_cli({"doctor"}, kClean);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "Training will run on /GPU:0 (");
}

}  // namespace
}  // namespace kerosene::doctor
