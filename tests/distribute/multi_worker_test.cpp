// MultiWorkerMirroredStrategy under a real `mpirun -np 2` on this machine: the same losses and
// weights as one device with the global batch; a killed worker ends the job; a hung worker is
// named as lost by the others within the collective timeout. Never a hang: every run is
// bounded by `timeout`.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "cli_util.h"
#include "kerosene/distribute.h"
#include "kerosene/error.h"
#include "mpi_skip.h"
#if KEROSENE_BUILT_WITH_MPI
#include "distribute/mpi_segments.h"
#endif

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
  KEROSENE_SKIP_WITHOUT_MPI();
  const CommandResult r = mpirun(2, "");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 2: ok (2 replicas in sync");
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 1 of 2: ok (2 replicas in sync");
}

// A LearningRateScheduler on worker 0 only: worker 0's learning rate reaches worker 1 at every
// step, so both end with the weights of one device trained with the same schedule.
TEST(MultiWorkerTest, WorkerZerosLearningRateReachesEveryWorker) {
  KEROSENE_SKIP_WITHOUT_MPI();
  const CommandResult r = mpirun(2, "--lr-schedule 1");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 2: ok");
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 1 of 2: ok");
}

TEST(MultiWorkerTest, UnevenShardsLeaveNoRowOut) {
  KEROSENE_SKIP_WITHOUT_MPI();
  // 509 rows: shards of 254 and 255; the last step has 30 + 31 rows.
  const CommandResult r = mpirun(2, "--samples 509");
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 2: ok");
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 1 of 2: ok");
}

// BatchNormalization(synchronized=true): statistics summed across the workers (MPI), so the
// losses, weights and moving statistics are one device's on the global batch. 65 rows: shards
// of 32 and 33, so worker 0 has no rows in the second step of each epoch and takes part empty.
TEST(MultiWorkerTest, SynchronizedBatchNormalizationUsesTheGlobalBatch) {
  KEROSENE_SKIP_WITHOUT_MPI();
  for (const char* samples : {"512", "65"}) {
    SCOPED_TRACE(samples);
    const CommandResult r = mpirun(2, std::string("--batch-norm 1 --samples ") + samples);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 2: ok");
    KEROSENE_EXPECT_CONTAINS(r.out, "worker 1 of 2: ok");
  }
}

TEST(MultiWorkerTest, AKilledWorkerEndsTheJob) {
  KEROSENE_SKIP_WITHOUT_MPI();
  const CommandResult r = mpirun(2, "--die-at-step 3");
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.exit_code, 124) << "the job hung until `timeout` ended it: " << describe(r);
  EXPECT_LT(r.seconds, 60) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out + r.err, "rank 1");
}

TEST(MultiWorkerTest, AHungWorkerIsNamedAsLostWithinTheTimeout) {
  KEROSENE_SKIP_WITHOUT_MPI();
  const CommandResult r = mpirun(2, "--hang-at-step 3", "KEROSENE_COLLECTIVE_TIMEOUT=5");
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.exit_code, 124) << "the job hung until `timeout` ended it: " << describe(r);
  EXPECT_LT(r.seconds, 30) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "worker(s) 1 of 2 did not reach collective");
  KEROSENE_EXPECT_CONTAINS(r.err, "within 5 s: lost");
}

// The files in /dev/shm whose names OpenMPI's shared-memory transport uses.
std::set<std::string> vader_segments() {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("vader_segment.", 0) == 0) names.insert(name);
  }
  return names;
}

TEST(MultiWorkerTest, AKilledMpirunLeavesNothingInDevShm) {
  KEROSENE_SKIP_WITHOUT_MPI();
  if (!std::filesystem::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm on this machine";
  test_util::SmallMnist data;
  const auto before = vader_segments();
  // A long run, its mpirun killed with SIGKILL once training is under way (the workers then end
  // without MPI_Finalize, which is what used to leave 4 MiB files behind). The script is a file,
  // so that pkill's patterns match the workers and not the shell running it.
  test_util::ScratchDir scratch;
  std::string script = "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ";
  script += shell_quote(KEROSENE_MPIRUN) + " -np 2 --oversubscribe " + shell_quote(KEROSENE_CLI_PATH);
  script += " train --model mlp --strategy multi_worker --epochs 100000 --verbose 2 --dataset " + shell_quote(data.dir);
  script += " >" + shell_quote(scratch / "log") + " 2>&1 &\npid=$!\n";
  script += "for i in $(seq 600); do grep -q ' - loss' " + shell_quote(scratch / "log") + " && break; sleep 0.1; done\n";
  script += "ls /dev/shm\nkill -KILL $pid\nsleep 3\n";
  script += "pkill -KILL -f " + shell_quote("dataset " + data.dir) + "\ncat " + shell_quote(scratch / "log") + "\n";
  test_util::write_bytes(scratch.path() / "run.sh", std::vector<uint8_t>(script.begin(), script.end()));
  const CommandResult r = run_shell("timeout 120 sh " + shell_quote(scratch / "run.sh"));
  KEROSENE_EXPECT_CONTAINS(r.out, " - loss");  // training was under way when mpirun was killed
  const auto after = vader_segments();
  for (const std::string& name : after) {
    EXPECT_TRUE(before.count(name)) << "/dev/shm/" << name << " was left behind\n" << describe(r);
  }
}

TEST(MultiWorkerTest, SegmentNameIsOpenMpis) {
  KEROSENE_SKIP_WITHOUT_MPI();
#if KEROSENE_BUILT_WITH_MPI
  // OpenMPI 4.1's vader_segment.<node>.<uid>.<jobid in hex>.<local rank>.
  const char* jobid = std::getenv("OMPI_MCA_ess_base_jobid");
  const std::string saved_jobid = jobid ? jobid : "";
  const char* local = std::getenv("OMPI_COMM_WORLD_LOCAL_RANK");
  const std::string saved_local = local ? local : "";
  setenv("OMPI_MCA_ess_base_jobid", "633995265", 1);
  setenv("OMPI_COMM_WORLD_LOCAL_RANK", "1", 1);
  EXPECT_EQ(distribute::vader_segment_path("/dev/shm", "vm"),
            "/dev/shm/vader_segment.vm." + std::to_string(geteuid()) + ".25ca0001.1");
  unsetenv("OMPI_MCA_ess_base_jobid");
  EXPECT_EQ(distribute::vader_segment_path("/dev/shm", "vm"), "");
  if (!saved_jobid.empty()) setenv("OMPI_MCA_ess_base_jobid", saved_jobid.c_str(), 1);
  if (saved_local.empty()) unsetenv("OMPI_COMM_WORLD_LOCAL_RANK");
  else setenv("OMPI_COMM_WORLD_LOCAL_RANK", saved_local.c_str(), 1);
#endif
}

TEST(MultiWorkerTest, OneWorkerWithoutMpirunIsAPlainRun) {
  KEROSENE_SKIP_WITHOUT_MPI();
  const CommandResult r = run_shell("timeout 120 " + shell_quote(KEROSENE_MULTI_WORKER_CHECK_PATH));
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "worker 0 of 1: ok (1 replicas in sync");
}

TEST(MultiWorkerTest, WithoutMpiAskingForMultiWorkerSaysHowToGetIt) {
  if (KEROSENE_BUILT_WITH_MPI) GTEST_SKIP() << "this kerosene has MPI (tests/package builds one without it)";
  try {
    distribute::MultiWorkerMirroredStrategy strategy;
    ADD_FAILURE() << "MultiWorkerMirroredStrategy was created in a build without MPI";
  } catch (const RuntimeError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "this build of kerosene has no MPI");
    KEROSENE_EXPECT_CONTAINS(e.what(), "-DKEROSENE_WITH_MPI=ON");
  }
  test_util::SmallMnist data;
  const CommandResult r = test_util::run_cli(
      {"train", "--model", "mlp", "--dataset", data.dir, "--strategy", "multi_worker", "--epochs", "1", "--verbose", "0"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "this build of kerosene has no MPI");
}

}  // namespace
}  // namespace kerosene
