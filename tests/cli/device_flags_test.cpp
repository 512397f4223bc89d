// `kerosene train`'s device flags, run as a user runs them: --device, --soft-placement,
// --memory-growth, --memory-limit; and the device verdict fit logs when it starts.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"
#include "kerosene/config.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::run_cli;

bool machine_has_gpu() { return !config::list_physical_devices("GPU").empty(); }

using test_util::SmallMnist;

TEST(CliDeviceFlagsTest, MissingGpuIsAnErrorWithTheDiagnosis) {
  if (machine_has_gpu()) GTEST_SKIP() << "this machine has a GPU";
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--device", "/GPU:0", "--verbose", "0"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "device /GPU:0 does not exist");
  KEROSENE_EXPECT_CONTAINS(r.err, "No GPU is usable: ");
  KEROSENE_EXPECT_CONTAINS(r.err, "fix: ");
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene doctor");
}

TEST(CliDeviceFlagsTest, SoftPlacementRunsOnTheCpuAndSaysSo) {
  if (machine_has_gpu()) GTEST_SKIP() << "this machine has a GPU";
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--device", "/GPU:0", "--soft-placement",
                             "--verbose", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: warning: soft device placement: /GPU:0 was requested");
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: Training will run on /CPU:0 because ");
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["device"], "/CPU:0");
  EXPECT_EQ(json["device_verdict"].get<std::string>().rfind("Training will run on /CPU:0 because ", 0), 0u) << r.out;
}

TEST(CliDeviceFlagsTest, DefaultDeviceIsNamedInTheResult) {
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--verbose", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["device"], machine_has_gpu() ? "/GPU:0" : "/CPU:0");
}

TEST(CliDeviceFlagsTest, MemoryLimitTooSmallIsAClearOutOfMemoryError) {
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--device", "/CPU:0",
                             "--memory-limit", "1", "--verbose", "0"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "Out of memory on /CPU:0 while allocating");
  KEROSENE_EXPECT_CONTAINS(r.err, "memory_limit 1.0 MiB");
  KEROSENE_EXPECT_CONTAINS(r.err, "reduce the batch size");
}

TEST(CliDeviceFlagsTest, MemoryLimitThatFitsTrains) {
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--device", "/CPU:0",
                             "--memory-limit", "256", "--verbose", "0", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
}

TEST(CliDeviceFlagsTest, MemoryGrowthWithoutAGpuIsANote) {
  if (machine_has_gpu()) GTEST_SKIP() << "this machine has a GPU";
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--memory-growth", "off", "--verbose", "0"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "--memory-growth off has no effect: there is no GPU");
}

TEST(CliDeviceFlagsTest, BadFlagValuesAreRejected) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"train", "--device", "/TPU:0"}, {"train", "--memory-growth", "maybe"}, {"train", "--memory-limit", "-5"}}) {
    CommandResult r = run_cli(args);
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_FALSE(r.crashed()) << describe(r);
    EXPECT_FALSE(r.err.empty()) << describe(r);
  }
}

TEST(CliDeviceFlagsTest, ForcedGrowthVariableIsValidated) {
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--verbose", "0"},
                            {{"TF_FORCE_GPU_ALLOW_GROWTH", "yes please"}});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "TF_FORCE_GPU_ALLOW_GROWTH must be \"true\" or \"false\"");
}

}  // namespace
}  // namespace kerosene

namespace kerosene {
namespace {

TEST(CliDeviceVerdictTest, LoggedWithVerboseZeroSilencedByTheLogLevel) {
  test_util::SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--steps-per-epoch", "2", "--verbose", "0"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: Training will run on ");
  CommandResult quiet = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--steps-per-epoch", "2", "--verbose",
                                 "0"},
                                {{"KEROSENE_MIN_LOG_LEVEL", "2"}});
  ASSERT_EQ(quiet.exit_code, 0) << describe(quiet);
  EXPECT_EQ(quiet.err.find("Training will run on"), std::string::npos) << quiet.err;
}

TEST(CliConsoleTest, ProgressOnStdoutAsKerasAndOnStderrWithJson) {
  test_util::SmallMnist data;
  CommandResult plain = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--steps-per-epoch", "2", "--verbose",
                                 "2", "--epochs", "2"});
  ASSERT_EQ(plain.exit_code, 0) << describe(plain);
  KEROSENE_EXPECT_CONTAINS(plain.out, "Epoch 1/2\n2/2 - ");
  KEROSENE_EXPECT_CONTAINS(plain.out, "/step - accuracy: ");  // Keras' order: names sorted
  CommandResult json = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--steps-per-epoch", "2", "--verbose",
                                "2", "--epochs", "2", "--json"});
  ASSERT_EQ(json.exit_code, 0) << describe(json);
  EXPECT_NO_THROW((void)nlohmann::json::parse(json.out)) << json.out;
  KEROSENE_EXPECT_CONTAINS(json.err, "Epoch 1/2\n2/2 - ");
  EXPECT_EQ(json.err.find("Epoch 1/2", json.err.find("Epoch 1/2") + 1), std::string::npos) << json.err;  // one bar
}

}  // namespace
}  // namespace kerosene
