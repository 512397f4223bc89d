// `kerosene` with model files, as a user runs it: train --save, then summary, evaluate, predict
// and train --model on the file; --checkpoint, --backup-dir and --tensorboard; and every kind of
// bad file, each of which must end with a message naming the file and a non-zero exit, never a
// crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "real_data.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::expect_user_error;
using test_util::run_cli;
using test_util::ScratchDir;
namespace fs = std::filesystem;

nlohmann::json parse_json(const CommandResult& r) {
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << "stdout is not a JSON object:\n" << describe(r);
  return j.is_object() ? j : nlohmann::json::object();
}

// The real MNIST (or Fashion-MNIST) when this machine has it, else a small MNIST-like one, so
// these tests never skip. Each run trains 5 batches of 16.
const std::string& dataset() {
  static std::unique_ptr<test_util::SmallMnist> small;
  static const std::string path = [] {
    if (test_util::real_data()) return test_util::real_data()->path;
    small = std::make_unique<test_util::SmallMnist>();
    return small->dir;
  }();
  return path;
}

std::vector<std::string> train_args(const std::string& model, std::vector<std::string> more, int epochs = 1) {
  std::vector<std::string> args = {"train",  "--model",      model, "--dataset", dataset(), "--epochs", std::to_string(epochs),
                                   "--batch-size", "16", "--steps-per-epoch", "5", "--seed", "1", "--json"};
  if (std::find(more.begin(), more.end(), "--verbose") == more.end()) more.insert(more.end(), {"--verbose", "0"});
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

// One model trained and saved by the CLI, shared by the tests that read it.
class ModelFilesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir;
    model_ = *dir_ / "m.keras";
    trained_ = run_cli(train_args("mlp", {"--save", model_}));
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(trained_.exit_code, 0) << describe(trained_);
    ASSERT_TRUE(fs::is_regular_file(model_)) << model_ << " was not written";
  }

  static inline ScratchDir* dir_ = nullptr;
  static inline std::string model_;
  static inline CommandResult trained_;
};

TEST_F(ModelFilesTest, TrainJsonNamesTheSavedFile) {
  const nlohmann::json j = parse_json(trained_);
  ASSERT_TRUE(j.contains("files")) << trained_.out;
  EXPECT_EQ(j["files"]["model"], model_);
  EXPECT_FALSE(j["files"].contains("checkpoints"));  // only what the options asked for
}

TEST_F(ModelFilesTest, SummaryOfTheFile) {
  const CommandResult r = run_cli({"summary", model_});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "Total params: 101,770");
  const CommandResult by_option = run_cli({"summary", "--model", model_});
  ASSERT_EQ(by_option.exit_code, 0) << describe(by_option);
  EXPECT_EQ(by_option.out, r.out);
}

TEST_F(ModelFilesTest, EvaluateGivesWhatTrainMeasured) {
  const CommandResult r = run_cli({"evaluate", model_, "--dataset", dataset(), "--batch-size", "16", "--json"});
  const nlohmann::json j = parse_json(r);
  ASSERT_TRUE(j.contains("test_loss") && j.contains("test_accuracy")) << r.out;
  const double loss = j["test_loss"].get<double>();
  EXPECT_TRUE(std::isfinite(loss)) << r.out;
  // The saved weights are the trained ones: the same test split, the same numbers.
  EXPECT_NEAR(loss, parse_json(trained_)["test_loss"].get<double>(), 1e-4);
  EXPECT_NEAR(j["test_accuracy"].get<double>(), parse_json(trained_)["test_accuracy"].get<double>(), 1e-6);

  const CommandResult text = run_cli({"evaluate", model_, "--dataset", dataset()});
  ASSERT_EQ(text.exit_code, 0) << describe(text);
  KEROSENE_EXPECT_CONTAINS(text.out, "Test loss: ");
  KEROSENE_EXPECT_CONTAINS(text.out, "Test accuracy: ");
}

TEST_F(ModelFilesTest, PredictWritesOneRowPerSampleAndIsDeterministic) {
  ScratchDir here;
  std::vector<float> values(7 * 28 * 28);
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>((i * 37) % 256) / 255.0f;
  io::save_npy(here / "x.npy", Tensor::from_vector(values, {7, 28, 28, 1}));
  for (const char* out : {"y1.npy", "y2.npy"}) {
    const CommandResult r = run_cli({"predict", model_, "--input", here / "x.npy", "--output", here / out});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
  }
  const Tensor y = io::load_npy(here / "y1.npy");
  ASSERT_EQ(y.shape(), Shape({7, 10}));
  const float* p = y.data<float>();
  for (int row = 0; row < 7; ++row) {
    float sum = 0;
    for (int c = 0; c < 10; ++c) {
      EXPECT_TRUE(std::isfinite(p[row * 10 + c]));
      sum += p[row * 10 + c];
    }
    EXPECT_NEAR(sum, 1.0f, 1e-4) << "row " << row << " is not a softmax";
  }
  EXPECT_EQ(test_util::read_text(here / "y1.npy"), test_util::read_text(here / "y2.npy"));
  // What the library gives for the same file and input.
  Model loaded = models::load_model(model_);
  const Tensor expected = loaded.predict(io::load_npy(here / "x.npy"));
  for (int64_t i = 0; i < y.numel(); ++i) EXPECT_NEAR(p[i], expected.data<float>()[i], 1e-6);

  // (7, 784) and (7, 28, 28) hold the same samples: reshaped, not refused.
  io::save_npy(here / "flat.npy", Tensor::from_vector(values, {7, 784}));
  const CommandResult flat = run_cli({"predict", model_, "--input", here / "flat.npy", "--output", here / "y3.npy", "--json"});
  const nlohmann::json j = parse_json(flat);
  EXPECT_EQ(j["files"]["predictions"], here / "y3.npy");
  EXPECT_EQ(test_util::read_text(here / "y1.npy"), test_util::read_text(here / "y3.npy"));
}

TEST_F(ModelFilesTest, TrainContinuesFromTheFile) {
  const std::string next = *dir_ / "m2.keras";
  const CommandResult r = run_cli(train_args(model_, {"--save", next}));
  const nlohmann::json j = parse_json(r);
  EXPECT_EQ(j["model"], model_);
  EXPECT_EQ(j["files"]["model"], next);
  EXPECT_TRUE(fs::is_regular_file(next));
  // Another optimizer on the command line replaces the file's.
  const CommandResult sgd = run_cli(train_args(model_, {"--optimizer", "sgd", "--learning-rate", "0.01"}));
  EXPECT_EQ(sgd.exit_code, 0) << describe(sgd);
}

TEST_F(ModelFilesTest, TruncatedFileIsAnErrorNamingIt) {
  const std::string bytes = test_util::read_text(model_);
  const std::string cut = *dir_ / "cut.keras";
  {
    std::ofstream out(cut, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  expect_user_error(run_cli({"summary", cut}), {cut}, 1);
  expect_user_error(run_cli({"evaluate", cut, "--dataset", dataset()}), {cut}, 1);
}

TEST_F(ModelFilesTest, PredictWithTheWrongShapeNamesBothShapes) {
  ScratchDir here;
  io::save_npy(here / "x.npy", Tensor::from_vector(std::vector<float>(15, 0.5f), {3, 5}));
  expect_user_error(run_cli({"predict", model_, "--input", here / "x.npy", "--output", here / "y.npy"}),
                    {model_, here / "x.npy", "(None, 28, 28, 1)", "(None, 5)"}, 1);
  EXPECT_FALSE(fs::exists(here / "y.npy"));
  expect_user_error(run_cli({"predict", model_, "--input", here / "missing.npy", "--output", here / "y.npy"}),
                    {here / "missing.npy"}, 1);
}

TEST(ModelFilesCli, TrainWritesCheckpointsAndTensorBoardLogs) {
  ScratchDir dir;
  const CommandResult r = run_cli(train_args("mlp", {"--checkpoint", dir / "ckpts", "--backup-dir", dir / "backup",
                                                     "--tensorboard", dir / "logs"}, /*epochs=*/2));
  const nlohmann::json j = parse_json(r);
  ASSERT_TRUE(j.contains("files")) << r.out;
  const nlohmann::json& files = j["files"];
  ASSERT_EQ(files["checkpoints"].size(), 2u) << r.out;
  EXPECT_EQ(files["checkpoints"][0], (fs::path(dir / "ckpts") / "ckpt-01.keras").string());
  EXPECT_EQ(files["checkpoints"][1], (fs::path(dir / "ckpts") / "ckpt-02.keras").string());
  for (const auto& f : files["checkpoints"]) EXPECT_TRUE(fs::is_regular_file(f.get<std::string>())) << f;
  EXPECT_EQ(files["backup_dir"], dir / "backup");
  ASSERT_GE(files["tensorboard"].size(), 1u) << r.out;
  for (const auto& f : files["tensorboard"]) {
    EXPECT_TRUE(fs::is_regular_file(f.get<std::string>())) << f;
    KEROSENE_EXPECT_CONTAINS(f.get<std::string>(), "events.out.tfevents.");
  }
  // A checkpoint is a model file like any other.
  const CommandResult summary = run_cli({"summary", files["checkpoints"][1].get<std::string>()});
  EXPECT_EQ(summary.exit_code, 0) << describe(summary);
}

// Ctrl-C with --backup-dir says the run resumes; the same command run again does.
TEST(ModelFilesCli, InterruptedRunResumesFromItsBackup) {
  ScratchDir dir;
  std::string command = test_util::shell_quote(KEROSENE_CLI_PATH);
  for (const std::string& arg : train_args("mlp", {"--backup-dir", dir / "backup", "--verbose", "2"}, 500)) {
    command += ' ';
    command += test_util::shell_quote(arg);
  }
  const std::string err = dir / "err";
  // Wait for the third epoch (two backups written), then SIGINT.
  std::string script = "(";
  script += command;
  script += " 2>" + test_util::shell_quote(err);
  script += " & pid=$!; for i in $(seq 600); do grep -q '^Epoch 3/' " + test_util::shell_quote(err);
  script += " 2>/dev/null && break; sleep 0.02; done; kill -INT $pid; wait $pid; echo \"status $?\"; cat ";
  script += test_util::shell_quote(err) + " >&2)";
  const CommandResult stopped = test_util::run_shell(script);
  if (stopped.out.find("status 0") != std::string::npos) GTEST_SKIP() << "training ended before SIGINT came";
  KEROSENE_EXPECT_CONTAINS(stopped.out, "status 130");
  KEROSENE_EXPECT_CONTAINS(stopped.err, "run the same command again to resume");
  KEROSENE_EXPECT_CONTAINS(stopped.err, dir / "backup");

  const CommandResult resumed = test_util::run_shell(command);
  const nlohmann::json j = parse_json(resumed);
  ASSERT_TRUE(j.contains("resumed_from_epoch")) << describe(resumed);
  EXPECT_GE(j["resumed_from_epoch"].get<int>(), 1);
  EXPECT_EQ(j["files"]["backup_dir"], dir / "backup");
}

TEST(ModelFilesCli, SaveWeightsOnly) {
  ScratchDir dir;
  const nlohmann::json j = parse_json(run_cli(train_args("mlp", {"--save", dir / "w.weights.h5"})));
  EXPECT_EQ(j["files"]["model"], dir / "w.weights.h5");
  EXPECT_TRUE(fs::is_regular_file(dir / "w.weights.h5"));
}

TEST(ModelFilesCli, MissingAndNonModelFilesAreErrorsNamingThem) {
  ScratchDir dir;
  const std::string missing = dir / "missing.keras";
  expect_user_error(run_cli({"summary", missing}), {missing, "no such file"}, 1);
  expect_user_error(run_cli({"evaluate", missing, "--dataset", dataset()}), {missing}, 1);
  expect_user_error(run_cli({"predict", missing, "--input", dir / "x.npy", "--output", dir / "y.npy"}), {missing}, 1);
  expect_user_error(run_cli(train_args(missing, {})), {missing}, 1);

  const std::string text = dir / "x.keras";
  std::ofstream(text) << "this is not a model\n";
  expect_user_error(run_cli({"summary", text}), {text}, 1);
  expect_user_error(run_cli(train_args(text, {})), {text}, 1);
}

TEST(ModelFilesCli, UncompiledFileCannotBeEvaluated) {
  ScratchDir dir;
  const std::string path = dir / "plain.keras";
  Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(10, "softmax")}).save(path);
  expect_user_error(run_cli({"evaluate", path, "--dataset", dataset()}), {path, "without compile"}, 1);
  // Training compiles it with the command line's defaults.
  EXPECT_EQ(run_cli(train_args(path, {})).exit_code, 0);
}

TEST(ModelFilesCli, ModelThatDoesNotFitTheDatasetNamesBothShapes) {
  ScratchDir dir;
  const std::string path = dir / "small.keras";
  Sequential({layers::Input({5}), layers::Dense(10, "softmax")}).save(path);
  expect_user_error(run_cli(train_args(path, {})), {path, "(None, 5)", "(None, 28, 28)"}, 1);
}

TEST(ModelFilesCli, BadNamesAreRejectedAtParseTime) {
  ScratchDir dir;
  expect_user_error(run_cli(train_args("mlp", {"--save", dir / "foo.txt"})),
                    {"--save", "expected a name ending in .keras", "foo.txt"}, 2);
  expect_user_error(run_cli(train_args("resnet", {})), {"expected mlp, cnn, convnet or a model file", "resnet"}, 2);
  expect_user_error(run_cli({"evaluate", "mlp", "--dataset", dataset()}), {"expected a model file", "mlp"}, 2);
  expect_user_error(run_cli({"predict", dir / "m.keras", "--input", dir / "x.csv", "--output", dir / "y.npy"}),
                    {"expected a name ending in .npy", "x.csv"}, 2);
  expect_user_error(run_cli({"predict", dir / "m.keras", "--input", dir / "x.npy"}), {"--output"}, 2);
  expect_user_error(run_cli({"summary", "notes.txt"}), {"notes.txt"}, 2);
  EXPECT_FALSE(fs::exists(dir / "foo.txt"));
}

TEST(ModelFilesCli, HelpSaysWhereCheckpointsGo) {
  const CommandResult r = run_cli({"train", "--help"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "ckpt-{epoch:02d}.keras");
  KEROSENE_EXPECT_CONTAINS(r.out, "--backup-dir");
  KEROSENE_EXPECT_CONTAINS(r.out, "--tensorboard");
}

}  // namespace
}  // namespace kerosene
