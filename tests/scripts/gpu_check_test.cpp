// scripts/gpu_check.sh, the first command on a GPU machine, must not rot while no GPU is at
// hand: its no-GPU path runs here (forced with GPU_CHECK_FORCE_NO_GPU=1 on a GPU machine too, so
// the suite stays quick) and must reach its "NO GPU" verdict with every CPU part passed: the
// doctor's verdict, op_check in both modes, the GPU logic's unit tests, the MNIST check's dry run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "cli_util.h"

namespace kerosene {
namespace {

TEST(GpuCheckScriptTest, TheNoGpuPathRunsItsCpuPartsToAClearVerdict) {
  if (std::getenv("KEROSENE_IN_GPU_CHECK")) GTEST_SKIP() << "running inside gpu_check.sh, which runs this suite";
  // A build without the plugin (no CUDA toolkit, or a sanitizer build, which leaves it out) is
  // one the script rightly fails at its first check: there is nothing of it to test here.
  if (!std::filesystem::exists(std::string(KEROSENE_BUILD_DIR) + "/libkerosene_cuda.so")) {
    GTEST_SKIP() << "this build has no CUDA plugin (" KEROSENE_BUILD_DIR "/libkerosene_cuda.so), which gpu_check.sh needs";
  }
  test_util::ScratchDir dir;
  const std::string script = std::string(KEROSENE_SOURCE_DIR) + "/scripts/gpu_check.sh";
  const test_util::CommandResult r = test_util::run_shell(
      "GPU_CHECK_FORCE_NO_GPU=1 SUMMARY=" + test_util::shell_quote(dir / "summary.txt") + " bash " +
      test_util::shell_quote(script) + " --no-build --build-dir " + test_util::shell_quote(KEROSENE_BUILD_DIR));
  const std::string summary = test_util::read_text(dir / "summary.txt");
  EXPECT_EQ(r.exit_code, 2) << "2 is 'no GPU, CPU parts passed'\n" << test_util::describe(r);
  KEROSENE_EXPECT_CONTAINS(summary, "VERDICT: NO GPU");
  KEROSENE_EXPECT_CONTAINS(summary, "GPU_CHECK_FORCE_NO_GPU is set");
  for (const char* part : {"PASS doctor", "PASS op_check value", "PASS op_check gradient", "PASS gpu logic (CPU)"}) {
    KEROSENE_EXPECT_CONTAINS(summary, part);
  }
  // Nothing that needs a GPU may read as passed.
  for (const char* part : {"SKIP sanitizers", "SKIP suite", "SKIP nccl tests", "SKIP paths"}) {
    KEROSENE_EXPECT_CONTAINS(summary, part);
  }
  EXPECT_EQ(summary.find("FAIL"), std::string::npos) << summary;
}

}  // namespace
}  // namespace kerosene
