// `kerosene train` given what a careless user or a hostile file gives it: every case ends early,
// with a message in kerosene's words that names the flag, file or split, and the exit status
// the README promises (2 for a bad command line, 1 for bad data, 130 for Ctrl-C).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "cli_util.h"
#include "kerosene/config.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::run_cli;
using test_util::run_shell;
using test_util::shell_quote;
using test_util::SmallMnist;
namespace fs = std::filesystem;

bool machine_has_gpu() { return !config::list_physical_devices("GPU").empty(); }

TEST(CliCarelessInput, RangeErrorsReadLikeKeroseneOwn) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"train", "--seed", "-5"}, "--seed: expected a whole number of 0 or more, got -5"},
      {{"train", "--steps-per-epoch", "-1"}, "--steps-per-epoch: expected a whole number of 0 or more, got -1"},
      {{"train", "--seed", "1.5"}, "--seed: expected a whole number of 0 or more, got 1.5"},
      {{"train", "--validation-split", "2"}, "--validation-split: expected a number from 0 to 0.99, got 2"},
      {{"train", "--verbose", "5"}, "--verbose: expected one of 0, 1, 2, got 5"},
      {{"train", "--epochs", "0"}, "--epochs: expected a number greater than 0, got 0"},
      {{"train", "--model", "resnet"}, "--model: expected mlp, cnn, convnet or a model file (.keras, .h5), got resnet"},
  };
  for (const auto& [args, message] : cases) {
    CommandResult r = run_cli(args);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: error: " + message);
    KEROSENE_EXPECT_CONTAINS(r.err, "(see kerosene train --help)");
    EXPECT_LT(r.err.size(), 300u) << "a message no one can read:\n" << r.err;
  }
}

TEST(CliCarelessInput, ClassWeightIsReadOrRefusedWithWhatIsWrong) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"0:1,1=2", "expected CLASS:WEIGHT pairs such as 0:1.0,1:2.5; \"1=2\" has no ':'"},
      {"-1:2", "class index -1 in \"-1:2\" is negative"},
      {"a:2", "expected CLASS:WEIGHT pairs such as 0:1.0,1:2.5; the class in \"a:2\" is not a whole"},
      {"0:x", "the weight in \"0:x\" is not a number 0 or more"},
      {"0:1,0:2", "class 0 is given twice in \"0:1,0:2\""},
      {"0:1,", "\"0:1,\" has an empty pair"},
  };
  for (const auto& [value, message] : cases) {
    CommandResult r = run_cli({"train", "--class-weight", value});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: error: --class-weight: ");
    KEROSENE_EXPECT_CONTAINS(r.err, message);
  }
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--class-weight", "0:1.0,1:2.5,7:0.5",
                             "--verbose", "0", "--json"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST(CliCarelessInput, CpuDeviceIndicesAreCheckedAgainstTheReplicas) {
  SmallMnist data;
  for (const std::string bad : {"/CPU:30000000", "/CPU:2147483647", "/CPU:2"}) {
    CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--strategy", "mirrored",
                               "--devices", "/CPU:0," + bad, "--verbose", "0"});
    EXPECT_EQ(r.exit_code, 1) << describe(r);
    KEROSENE_EXPECT_CONTAINS(r.err, "--devices names " + bad +
                                        ", but its 2 CPU devices split the CPU into /CPU:0 to /CPU:1");
    EXPECT_LT(r.seconds, 10.0) << describe(r);
  }
  CommandResult twice = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--strategy", "mirrored",
                                 "--devices", "/CPU:0,/CPU:0", "--verbose", "0"});
  EXPECT_EQ(twice.exit_code, 1) << describe(twice);
  KEROSENE_EXPECT_CONTAINS(twice.err, "--devices names /CPU:0 twice");
}

TEST(CliCarelessInput, MemoryLimitSurvivesTheCpuSplit) {
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--strategy", "mirrored", "--devices",
                             "/CPU:0,/CPU:1", "--memory-limit", "1", "--verbose", "0"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "Out of memory on /CPU:");
  KEROSENE_EXPECT_CONTAINS(r.err, "memory_limit 1.0 MiB");
  // A limit that fits trains, on both replicas.
  CommandResult fits = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--strategy", "mirrored", "--devices",
                                "/CPU:0,/CPU:1", "--memory-limit", "256", "--verbose", "0", "--json"});
  EXPECT_EQ(fits.exit_code, 0) << describe(fits);
  KEROSENE_EXPECT_CONTAINS(fits.out, "\"num_replicas_in_sync\":2");
}

TEST(CliCarelessInput, MissingGpuIsReportedBeforeAnyLimitApplies) {
  if (machine_has_gpu()) GTEST_SKIP() << "this machine has a GPU";
  SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir, "--device", "/GPU:0", "--memory-limit",
                             "1", "--verbose", "0"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "device /GPU:0 does not exist");
  EXPECT_EQ(r.err.find("Out of memory"), std::string::npos) << describe(r);
}

// A dataset directory whose test labels are given by `test_labels`, with 64 good training
// samples and 16 test images.
struct DatasetWithTestLabels {
  test_util::ScratchDir dir;
  explicit DatasetWithTestLabels(const std::vector<uint8_t>& test_labels, uint32_t test_images = 16) {
    test_util::write_small_mnist(dir.path(), 64, test_images);
    test_util::write_bytes(dir.path() / "t10k-labels-idx1-ubyte.gz",
                           test_util::gzip(test_util::idx_ubyte({static_cast<uint32_t>(test_labels.size())},
                                                                [&](size_t i) { return test_labels[i]; })));
  }
};

TEST(CliCarelessInput, BadTestLabelIsFoundBeforeTraining) {
  std::vector<uint8_t> labels(16, 3);
  labels[11] = 12;
  DatasetWithTestLabels data(labels);
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir.path().string(), "--epochs", "3",
                             "--verbose", "2"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "label out of range in the test split");
  KEROSENE_EXPECT_CONTAINS(r.err, "t10k-labels-idx1-ubyte.gz");
  KEROSENE_EXPECT_CONTAINS(r.err, "label[11] = 12, expected 0 <= label < 10");
  EXPECT_EQ(r.err.find("Epoch"), std::string::npos) << "trained before checking:\n" << describe(r);
}

TEST(CliCarelessInput, EmptyTestSplitIsFoundBeforeTraining) {
  DatasetWithTestLabels data({}, /*test_images=*/0);
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.dir.path().string(), "--epochs", "3",
                             "--verbose", "2"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "the test split ('");
  KEROSENE_EXPECT_CONTAINS(r.err, "holds no samples");
  EXPECT_EQ(r.err.find("Epoch"), std::string::npos) << "trained before checking:\n" << describe(r);
}

TEST(CliCarelessInput, CtrlCFinishesTheLineAndSaysWhereTrainingStopped) {
  SmallMnist data;
  test_util::ScratchDir scratch;
  const std::string err = scratch / "err";
  // Many short epochs, so that training is under way when SIGINT comes; wait for it to start.
  // Appended piece by piece: `"(" + std::string` trips a false -Wrestrict in GCC 12.
  std::string script = "(";
  script += shell_quote(KEROSENE_CLI_PATH);
  script += " train --model mlp --dataset " + shell_quote(data.dir);
  script += " --epochs 100000 --verbose 2 >" + shell_quote(err) + " 2>&1";  // progress: stdout, as Keras
  script += " & pid=$!; for i in $(seq 300); do grep -q ' - loss' " + shell_quote(err);
  script += " 2>/dev/null && break; sleep 0.1; done; kill -INT $pid; wait $pid; echo \"status $?\"; cat ";
  script += shell_quote(err) + " >&2)";
  CommandResult r = run_shell(script);
  KEROSENE_EXPECT_CONTAINS(r.out, "status 130");
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: interrupted (SIGINT): training stopped after epoch ");
  KEROSENE_EXPECT_CONTAINS(r.err, "/100000, batch ");
  EXPECT_EQ(r.err.back(), '\n') << describe(r);
  EXPECT_LT(r.seconds, 60.0) << describe(r);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif

TEST(CliCarelessInput, GzipBombDatasetUnderAMemoryCap) {
  if (kSanitized) GTEST_SKIP() << "ulimit -v cannot be set under a sanitizer";
  SmallMnist data;
  // Training images followed by 2 GiB of zeros in concatenated gzip members (2 MB on disk).
  auto zeros = test_util::gzip(std::vector<uint8_t>(16 << 20, 0));
  auto images = test_util::gzip(test_util::idx_ubyte({256, 28, 28}, [](size_t i) { return uint8_t(i % 251); }));
  for (int i = 0; i < 128; ++i) images.insert(images.end(), zeros.begin(), zeros.end());
  test_util::write_bytes(fs::path(data.dir) / "train-images-idx3-ubyte.gz", images);
  CommandResult r = run_shell("ulimit -v 2000000; " + shell_quote(KEROSENE_CLI_PATH) + " train --model mlp --dataset " +
                              shell_quote(data.dir) + " --verbose 0");
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "train-images-idx3-ubyte.gz' has trailing data");
}

}  // namespace
}  // namespace kerosene
