// The `kerosene` command, run as a user runs it: summaries, a short training run with --json,
// and every kind of bad input, each of which must end with a clear message, a non-zero exit
// code and no crash.
#include <gtest/gtest.h>

#include <algorithm>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_util.h"
#include "real_data.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::expect_user_error;
using test_util::run_cli;
using test_util::ScratchDir;
namespace fs = std::filesystem;


TEST(CliTest, SummaryOfTheCnn) {
  CommandResult r = run_cli({"summary", "--model", "cnn"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "Total params: 54,410");
  KEROSENE_EXPECT_CONTAINS(r.out, "(None, 26, 26, 32)");
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(CliTest, SummaryOfTheMlp) {
  CommandResult r = run_cli({"summary", "--model", "mlp"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "Total params: 101,770");
}

// Keras' MNIST convnet example, layer for layer: its summary's shapes and 34,826 parameters.
TEST(CliTest, SummaryOfTheConvnet) {
  CommandResult r = run_cli({"summary", "--model", "convnet"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "Total params: 34,826");
  KEROSENE_EXPECT_CONTAINS(r.out, "(None, 11, 11, 64)");
  KEROSENE_EXPECT_CONTAINS(r.out, "(None, 1600)");
  KEROSENE_EXPECT_CONTAINS(r.out, "Dropout");
}

// The convnet trains from the command line like the other built-in models (Dropout included).
TEST(CliTest, TrainTheConvnet) {
  test_util::SmallMnist data;
  CommandResult r = run_cli({"train", "--model", "convnet", "--dataset", data.dir, "--epochs", "1", "--batch-size",
                             "64", "--json", "--verbose", "0", "--seed", "1"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["model"], "convnet");
  EXPECT_EQ(j["batch_size"], 64);
  EXPECT_TRUE(j["test_loss"].is_number()) << r.out;
}

// Checks the --json output of a training run: exactly one JSON object, on one line.
nlohmann::json parse_train_json(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << "stdout is not one line:\n" << r.out;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << "stdout is not a JSON object:\n" << r.out;
  if (!j.is_object()) return {};
  for (const char* key : {"model", "dataset", "device", "epochs", "batch_size", "history", "test_loss", "test_accuracy",
                          "epoch_seconds", "train_samples_per_second"}) {
    EXPECT_TRUE(j.contains(key)) << "no \"" << key << "\" in " << r.out;
  }
  return j;
}

TEST(CliTest, TrainJson) {
  KEROSENE_REQUIRE_REAL_DATA();
  const test_util::RealData& data = *test_util::real_data();
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", data.path, "--epochs", "1", "--steps-per-epoch",
                             "50", "--json", "--verbose", "0", "--seed", "1"});
  nlohmann::json j = parse_train_json(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["model"], "mlp");
  EXPECT_EQ(j["dataset"], data.path);
  EXPECT_EQ(j["device"], "/CPU:0");
  EXPECT_EQ(j["epochs"], 1);
  EXPECT_EQ(j["batch_size"], 32);
  ASSERT_TRUE(j["history"].contains("loss"));
  ASSERT_TRUE(j["history"].contains("accuracy"));
  EXPECT_EQ(j["history"]["loss"].size(), 1u);
  EXPECT_EQ(j["epoch_seconds"].size(), 1u);
  EXPECT_GT(j["epoch_seconds"][0].get<double>(), 0.0);
  EXPECT_GT(j["train_samples_per_second"].get<double>(), 0.0);
  // 50 steps of 32 samples are enough to beat chance by far.
  EXPECT_GT(j["test_accuracy"].get<double>(), data.mlp_50_steps) << "on " << data.name;
  EXPECT_LE(j["test_accuracy"].get<double>(), 1.0);
  EXPECT_GT(j["test_loss"].get<double>(), 0.0);
  // --verbose 0 silences the bar, not the one line that says where training runs.
  EXPECT_EQ(r.err.rfind("kerosene: Training will run on ", 0), 0u) << "--verbose 0 printed:\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "--verbose 0 printed:\n" << r.err;
}

TEST(CliTest, DatasetByNameFromKeroseneDatasets) {
  ScratchDir root;
  fs::create_directories(root.path() / "mnist");
  test_util::write_small_mnist(root.path() / "mnist", 256, 64);
  CommandResult r = run_cli({"train", "--model", "mlp", "--dataset", "mnist", "--steps-per-epoch", "4", "--json",
                             "--verbose", "0"},
                            {{"KEROSENE_DATASETS", root.path().string()}, {"HOME", root.path().string()}});
  nlohmann::json j = parse_train_json(r);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["dataset"], "mnist");
  EXPECT_EQ(j["epochs"], 1);
}

TEST(CliTest, MissingDatasetDirectory) {
  ScratchDir root;
  const std::string missing = root / "no_such_dir";
  expect_user_error(run_cli({"train", "--model", "mlp", "--dataset", missing, "--verbose", "0"}),
                    {"kerosene: error:", missing});
}

TEST(CliTest, DatasetNameFoundNowhere) {
  ScratchDir root;  // empty: no dataset under KEROSENE_DATASETS, KERAS_HOME or HOME
  expect_user_error(run_cli({"train", "--model", "mlp", "--dataset", "mnist", "--verbose", "0"},
                            {{"KEROSENE_DATASETS", root.path().string()},
                             {"KERAS_HOME", root.path().string()},
                             {"HOME", root.path().string()},
                             {"KEROSENE_DATASETS_URL", "http://127.0.0.1:9/"}}),
                    {"kerosene: error:", root.path().string()});
}

TEST(CliTest, TruncatedGzipFile) {
  ScratchDir dir;
  test_util::write_small_mnist(dir.path(), 64, 16);
  const fs::path images = dir.path() / "train-images-idx3-ubyte.gz";
  fs::resize_file(images, fs::file_size(images) / 2);
  expect_user_error(run_cli({"train", "--model", "mlp", "--dataset", dir.path().string(), "--verbose", "0"}),
                    {"kerosene: error:", "train-images-idx3-ubyte.gz"});
}

TEST(CliTest, CorruptGzipFile) {
  ScratchDir dir;
  test_util::write_small_mnist(dir.path(), 64, 16);
  std::vector<uint8_t> garbage{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 'n', 'o', 't', ' ', 'd', 'e', 'f', 'l', 'a', 't', 'e'};
  test_util::write_bytes(dir.path() / "t10k-labels-idx1-ubyte.gz", garbage);
  expect_user_error(run_cli({"train", "--model", "cnn", "--dataset", dir.path().string(), "--verbose", "0"}),
                    {"kerosene: error:", "t10k-labels-idx1-ubyte.gz"});
}

TEST(CliTest, LabelCountDiffersFromImageCount) {
  ScratchDir dir;
  test_util::write_small_mnist(dir.path(), 64, 16, /*label_delta=*/-3);
  expect_user_error(run_cli({"train", "--model", "mlp", "--dataset", dir.path().string(), "--verbose", "0"}),
                    {"kerosene: error:", "train-labels-idx1-ubyte", "64", "61"});
}

TEST(CliTest, UnknownModel) {
  expect_user_error(run_cli({"train", "--model", "resnet", "--dataset", "mnist"}), {"--model", "resnet"});
  expect_user_error(run_cli({"summary", "--model", "transformer"}), {"--model", "transformer"});
}

TEST(CliTest, NegativeEpochs) {
  expect_user_error(run_cli({"train", "--model", "mlp", "--dataset", "mnist", "--epochs", "-1"}), {"--epochs", "-1"});
  expect_user_error(run_cli({"train", "--model", "mlp", "--dataset", "mnist", "--epochs", "two"}), {"--epochs"});
}

TEST(CliTest, NoSubcommand) {
  CommandResult r = run_cli({});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(r.crashed()) << describe(r);
}

}  // namespace
}  // namespace kerosene
