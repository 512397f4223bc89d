// `kerosene train --strategy ... --devices ...`, run as a user runs it, including under mpirun.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_util.h"
#include "mpi_skip.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::run_cli;
using test_util::shell_quote;

using test_util::SmallMnist;

TEST(CliStrategyTest, MirroredOnTwoLogicalCpus) {
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "cnn", "--dataset", data.dir, "--strategy", "mirrored", "--devices",
                             "/CPU:0,/CPU:1", "--batch-size", "64", "--verbose", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto json = nlohmann::json::parse(r.out);
  EXPECT_EQ(json["strategy"], "mirrored");
  EXPECT_EQ(json["num_replicas_in_sync"], 2);
  EXPECT_EQ(json["num_workers"], 1);
  EXPECT_EQ(json["devices"], nlohmann::json::array({"/CPU:0", "/CPU:1"}));
  EXPECT_EQ(json["reduction"], "in-process");
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: Training will run on /CPU:0, /CPU:1 (2 replicas in sync on 1 worker");
}

TEST(CliStrategyTest, FlagsThatDoNotGoTogetherAreErrors) {
  CommandResult a = run_cli({"train", "--devices", "/CPU:0,/CPU:1"});
  EXPECT_EQ(a.exit_code, 1) << describe(a);
  KEROSENE_EXPECT_CONTAINS(a.err, "--devices needs --strategy mirrored or multi_worker");
  CommandResult b = run_cli({"train", "--strategy", "mirrored", "--device", "/CPU:0"});
  EXPECT_EQ(b.exit_code, 1) << describe(b);
  KEROSENE_EXPECT_CONTAINS(b.err, "name the replicas' devices with --devices");
  CommandResult c = run_cli({"train", "--strategy", "ring"});
  EXPECT_NE(c.exit_code, 0) << describe(c);
  EXPECT_FALSE(c.crashed()) << describe(c);
}

TEST(CliStrategyTest, MultiWorkerUnderMpirunPrintsOneResult) {
  KEROSENE_SKIP_WITHOUT_MPI();
  SmallMnist data;
  const CommandResult r = test_util::run_shell(
      std::string("env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 120 ") +
      shell_quote(KEROSENE_MPIRUN) + " -np 2 --oversubscribe " + shell_quote(KEROSENE_CLI_PATH) +
      " train --model mlp --dataset " + shell_quote(data.dir) +
      " --strategy multi_worker --batch-size 64 --verbose 0 --json");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const std::string& stdout_text = r.out;
  ASSERT_EQ(std::count(stdout_text.begin(), stdout_text.end(), '\n'), 1) << "only worker 0 prints:\n" << stdout_text;
  const auto json = nlohmann::json::parse(stdout_text);
  EXPECT_EQ(json["num_workers"], 2);
  EXPECT_EQ(json["num_replicas_in_sync"], 2);
  EXPECT_EQ(json["strategy"], "multi_worker");
}

}  // namespace
}  // namespace kerosene
