// The device examples run as a user runs them, on this machine as it is: each must do what it
// says (and say what it did instead where there is no GPU), never crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_util.h"
#include "kerosene/config.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::run_shell;
using test_util::shell_quote;

/// exit_code -2: the example was not built (err says where it was looked for).
CommandResult run_example(const std::string& name, const std::string& args = "") {
  const std::string path = std::string(KEROSENE_BUILD_DIR) + "/example_" + name;
  if (!std::filesystem::exists(path)) return {-2, "", path + " was not built"};
  return run_shell("timeout 300 " + shell_quote(path) + " " + args);  // none of them loads a dataset
}

bool has_gpu() { return !config::list_physical_devices("GPU").empty(); }

TEST(DeviceExamplesTest, GpuAvailableSaysWhereTrainingRuns) {
  const CommandResult r = run_example("gpu_available");
  if (r.exit_code == -2) GTEST_SKIP() << r.err;
  EXPECT_EQ(r.exit_code, has_gpu() ? 0 : 1) << r.out << r.err;
  KEROSENE_EXPECT_CONTAINS(r.out, "Num GPUs Available: ");
  KEROSENE_EXPECT_CONTAINS(r.out, "Training will run on ");
}

TEST(DeviceExamplesTest, ExplicitPlacement) {
  const CommandResult strict = run_example("explicit_placement");
  if (strict.exit_code == -2) GTEST_SKIP() << strict.err;
  if (has_gpu()) {
    EXPECT_EQ(strict.exit_code, 0) << strict.out << strict.err;
    return;
  }
  EXPECT_EQ(strict.exit_code, 1) << strict.out << strict.err;
  KEROSENE_EXPECT_CONTAINS(strict.err, "/GPU:0 does not exist");
  const CommandResult soft = run_example("explicit_placement", "--soft");
  EXPECT_EQ(soft.exit_code, 0) << soft.out << soft.err;
  KEROSENE_EXPECT_CONTAINS(soft.err, "soft device placement");
  KEROSENE_EXPECT_CONTAINS(soft.err, "Executing op matmul in device /job:localhost/replica:0/task:0/device:CPU:0");
  KEROSENE_EXPECT_CONTAINS(soft.out, "first row sums to 1.000");
}

TEST(DeviceExamplesTest, LogicalDevicesAndMemoryGrowth) {
  const CommandResult logical = run_example("logical_devices");
  if (logical.exit_code == -2) GTEST_SKIP() << logical.err;
  EXPECT_EQ(logical.exit_code, 0) << logical.out << logical.err;
  KEROSENE_EXPECT_CONTAINS(logical.out, "is now 2 logical devices");
  KEROSENE_EXPECT_CONTAINS(logical.out, "of a 1024 MiB limit");
  const CommandResult limited = run_example("memory_growth", "limit 256");
  EXPECT_EQ(limited.exit_code, 0) << limited.out << limited.err;
  KEROSENE_EXPECT_CONTAINS(limited.out, "limit 256 MiB");
}

}  // namespace
}  // namespace kerosene
