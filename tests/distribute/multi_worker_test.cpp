// MultiWorkerMirroredStrategy under a real `mpirun -np 2` on this machine: the same losses and
// weights as one device with the global batch; a killed worker ends the job; a hung worker is
// named as lost by the others within the collective timeout. Never a hang: every run is
// bounded by `timeout`.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "cli_util.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::run_shell;
using test_util::shell_quote;

CommandResult mpirun(int workers, const std::string& args, const std::string& env = "") {
  // Root may start MPI jobs in these containers; a no-op for other users.
  return run_shell("env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 " + env + " timeout 120 " +
                   shell_quote(KEROSENE_MPIRUN) + " -np " + std::to_string(workers) + " --oversubscribe " +
                   shell_quote(KEROSENE_MULTI_WORKER_CHECK_PATH) + " " + args);
}

TEST(MultiWorkerTest, TwoWorkersTrainAsOneDeviceWithTheGlobalBatch) {
  const CommandResult r = mpirun(2, "");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 2: ok (2 replicas in sync");
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 1 of 2: ok (2 replicas in sync");
}

TEST(MultiWorkerTest, UnevenShardsLeaveNoRowOut) {
  // 509 rows: shards of 254 and 255; the last step has 30 + 31 rows.
  const CommandResult r = mpirun(2, "--samples 509");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 2: ok");
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 1 of 2: ok");
}

TEST(MultiWorkerTest, AKilledWorkerEndsTheJob) {
  const CommandResult r = mpirun(2, "--die-at-step 3");
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.exit_code, 124) << "the job hung until `timeout` ended it: " << describe(r);
  EXPECT_LT(r.seconds, 60) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out + r.err, "rank 1");
}

TEST(MultiWorkerTest, AHungWorkerIsNamedAsLostWithinTheTimeout) {
  const CommandResult r = mpirun(2, "--hang-at-step 3", "KEROSENE_COLLECTIVE_TIMEOUT=5");
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.exit_code, 124) << "the job hung until `timeout` ended it: " << describe(r);
  EXPECT_LT(r.seconds, 30) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "worker(s) 1 of 2 did not reach collective");
  KEROSENE_EXPECT_CONTAINS(r.err, "within 5 s: lost");
}

TEST(MultiWorkerTest, OneWorkerWithoutMpirunIsAPlainRun) {
  const CommandResult r = run_shell("timeout 120 " + shell_quote(KEROSENE_MULTI_WORKER_CHECK_PATH));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 1: ok (1 replicas in sync");
}

}  // namespace
}  // namespace kerosene
