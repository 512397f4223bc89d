// `kerosene train`'s compile flags, as a user runs them: --loss, --metrics, --lr-schedule,
// --clipnorm, --clipvalue and --global-clipnorm reach compile (the --json result's
// compile_config and the saved file's are Keras' compile config), and every bad value ends with a
// message naming the flag and what it allows, a non-zero exit and nothing on stdout.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli_util.h"
#include "io/zip_archive.h"
#include "kerosene/kerosene.h"
#include "train/loss_catalog.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::expect_user_error;
using test_util::run_cli;
using test_util::ScratchDir;
using nlohmann::json;
namespace fs = std::filesystem;

const std::string& dataset() {
  static const test_util::SmallMnist small(64, 16);
  return small.dir;
}

CommandResult train(std::vector<std::string> more, const std::string& model = "mlp") {
  std::vector<std::string> args = {"train", "--model", model, "--dataset", dataset(), "--batch-size", "16",
                                   "--steps-per-epoch", "3", "--seed", "1", "--verbose", "0", "--json"};
  args.insert(args.end(), more.begin(), more.end());
  return run_cli(args);
}

json trained(const std::vector<std::string>& more, const std::string& model = "mlp") {
  const CommandResult r = train(more, model);
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object() && j.contains("compile_config")) << describe(r);
  return j.is_object() && j.contains("compile_config") ? j : json{{"compile_config", json::object()}};
}

TEST(CompileFlags, HelpListsThem) {
  const CommandResult r = run_cli({"train", "--help"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  for (const char* flag : {"--loss", "--metrics", "--lr-schedule", "--clipnorm", "--clipvalue", "--global-clipnorm"}) {
    KEROSENE_EXPECT_CONTAINS(r.out, flag);
  }
}

TEST(CompileFlags, DefaultsAreKerasMnistOnes) {
  const json j = trained({});
  EXPECT_EQ(j["compile_config"]["loss"], "sparse_categorical_crossentropy");
  EXPECT_EQ(j["compile_config"]["metrics"], json::array({"accuracy"}));
  EXPECT_EQ(j["compile_config"]["optimizer"]["class_name"], "Adam");
  EXPECT_EQ(j["compile_config"]["optimizer"]["config"]["clipnorm"], nullptr);
  EXPECT_TRUE(j["test_metrics"].contains("accuracy")) << j.dump();
}

// Every loss the library knows trains on the class labels: one-hot for all but the sparse one.
TEST(CompileFlags, EveryLossTrains) {
  for (const auto& entry : train::loss_entries()) {
    const json j = trained({"--loss", entry.name});
    EXPECT_EQ(j["compile_config"]["loss"], entry.name);
    EXPECT_TRUE(j.contains("test_loss") && j["test_loss"].is_number()) << entry.name << ": " << j.dump();
  }
}

TEST(CompileFlags, LossWithOptionsAndMetrics) {
  const json j = trained({"--loss", "categorical_crossentropy:label_smoothing=0.1", "--metrics",
                          "accuracy,precision,mae"});
  const json& loss = j["compile_config"]["loss"];
  EXPECT_EQ(loss["class_name"], "CategoricalCrossentropy");
  EXPECT_EQ(loss["config"]["label_smoothing"], 0.1);
  EXPECT_EQ(j["compile_config"]["metrics"], json::array({"accuracy", "precision", "mae"}));
  for (const char* name : {"loss", "accuracy", "precision", "mae"}) {
    EXPECT_TRUE(j["history"].contains(name)) << name << ": " << j.dump();
    EXPECT_TRUE(j["test_metrics"].contains(name)) << name << ": " << j.dump();
  }
  // "accuracy" under categorical_crossentropy is Keras' categorical accuracy: a fraction.
  EXPECT_GE(j["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["test_accuracy"].get<double>(), 1.0);
}

TEST(CompileFlags, NoMetrics) {
  const json j = trained({"--metrics", ""});
  EXPECT_EQ(j["compile_config"]["metrics"], nullptr);
  EXPECT_EQ(j["test_metrics"].size(), 1u) << j.dump();  // the loss alone
  EXPECT_EQ(j["test_accuracy"], nullptr);
}

json learning_rate_of(const json& j) { return j["compile_config"]["optimizer"]["config"]["learning_rate"]; }

TEST(CompileFlags, ScheduleKindsWithKerasParameterNames) {
  json lr = learning_rate_of(trained({"--optimizer", "sgd", "--lr-schedule", "exponential:decay_steps=1000,decay_rate=0.9"}));
  EXPECT_EQ(lr["module"], "keras.optimizers.schedules");
  EXPECT_EQ(lr["class_name"], "ExponentialDecay");
  EXPECT_EQ(lr["config"]["initial_learning_rate"], 0.01);  // SGD's default learning rate
  EXPECT_EQ(lr["config"]["decay_steps"], 1000);
  EXPECT_EQ(lr["config"]["decay_rate"], 0.9);
  EXPECT_EQ(lr["config"]["staircase"], false);

  lr = learning_rate_of(trained({"--learning-rate", "0.5", "--lr-schedule", "InverseTimeDecay:decay_steps=10,decay_rate=0.5,staircase=true"}));
  EXPECT_EQ(lr["class_name"], "InverseTimeDecay");
  EXPECT_EQ(lr["config"]["initial_learning_rate"], 0.5);
  EXPECT_EQ(lr["config"]["staircase"], true);

  lr = learning_rate_of(trained({"--lr-schedule", "piecewise_constant:boundaries=2;4,values=0.01;0.005;0.001"}));
  EXPECT_EQ(lr["class_name"], "PiecewiseConstantDecay");
  EXPECT_EQ(lr["config"]["boundaries"], json::array({2, 4}));
  EXPECT_EQ(lr["config"]["values"], json::array({0.01, 0.005, 0.001}));

  lr = learning_rate_of(trained(
      {"--lr-schedule", "cosine:initial_learning_rate=0.002,decay_steps=50,alpha=0.1,warmup_target=0.004,warmup_steps=5"}));
  EXPECT_EQ(lr["class_name"], "CosineDecay");
  EXPECT_EQ(lr["config"]["initial_learning_rate"], 0.002);
  EXPECT_EQ(lr["config"]["alpha"], 0.1);
  EXPECT_EQ(lr["config"]["warmup_target"], 0.004);
  EXPECT_EQ(lr["config"]["warmup_steps"], 5);

  lr = learning_rate_of(trained({"--lr-schedule", "polynomial:decay_steps=20,end_learning_rate=0.0005,power=2,cycle=true"}));
  EXPECT_EQ(lr["class_name"], "PolynomialDecay");
  EXPECT_EQ(lr["config"]["initial_learning_rate"], 0.001);  // Adam's default
  EXPECT_EQ(lr["config"]["end_learning_rate"], 0.0005);
  EXPECT_EQ(lr["config"]["power"], 2.0);
  EXPECT_EQ(lr["config"]["cycle"], true);
}

TEST(CompileFlags, Clipping) {
  EXPECT_EQ(trained({"--clipnorm", "1.5"})["compile_config"]["optimizer"]["config"]["clipnorm"], 1.5);
  EXPECT_EQ(trained({"--clipvalue", "0.5"})["compile_config"]["optimizer"]["config"]["clipvalue"], 0.5);
  EXPECT_EQ(trained({"--global-clipnorm", "2"})["compile_config"]["optimizer"]["config"]["global_clipnorm"], 2.0);
}

// The flags go through compile into the saved file; a later run on the file keeps what it is
// not told to change (the loss, the optimizer and its clipping), and changes what it is told.
TEST(CompileFlags, SavedFileKeepsThemAndARunOnItChangesOnlyWhatIsGiven) {
  ScratchDir dir;
  const std::string file = dir / "m.keras";
  const json first = trained({"--optimizer", "rmsprop", "--clipnorm", "0.75", "--loss", "huber:delta=2", "--metrics",
                              "mae", "--save", file});
  io::ZipReader zip(file);
  const auto bytes = zip.read("config.json");
  const json saved = json::parse(bytes.begin(), bytes.end())["compile_config"];
  EXPECT_EQ(saved, first["compile_config"]);
  EXPECT_EQ(saved["loss"]["class_name"], "Huber");
  EXPECT_EQ(saved["loss"]["config"]["delta"], 2.0);
  EXPECT_EQ(saved["optimizer"]["config"]["clipnorm"], 0.75);

  const json again = trained({"--metrics", "mse"}, file);
  EXPECT_EQ(again["compile_config"]["loss"], saved["loss"]);
  EXPECT_EQ(again["compile_config"]["optimizer"]["class_name"], "RMSprop");
  EXPECT_EQ(again["compile_config"]["optimizer"]["config"]["clipnorm"], 0.75);
  EXPECT_EQ(again["compile_config"]["metrics"], json::array({"mse"}));
}

TEST(CompileFlags, BadLoss) {
  expect_user_error(train({"--loss", "crossentropy"}), {"--loss", "crossentropy", "sparse_categorical_crossentropy"});
  expect_user_error(train({"--loss", "huber:delta=-1"}), {"--loss", "delta", "-1"});
  expect_user_error(train({"--loss", "mse:label_smoothing=0.1"}), {"--loss", "label_smoothing"});
}

TEST(CompileFlags, BadMetrics) {
  expect_user_error(train({"--metrics", "accuracy,f1"}), {"--metrics", "\"f1\"", "precision"});
}

TEST(CompileFlags, BadSchedules) {
  expect_user_error(train({"--lr-schedule", "step:decay_steps=10"}),
                 {"--lr-schedule", "unknown schedule \"step\"", "exponential (ExponentialDecay)", "cosine"});
  expect_user_error(train({"--lr-schedule", "exponential:decay_step=10,decay_rate=0.9"}),
                 {"--lr-schedule", "unknown parameter \"decay_step\"",
                  "ExponentialDecay takes initial_learning_rate, decay_steps, decay_rate and staircase"});
  expect_user_error(train({"--lr-schedule", "exponential:decay_steps=10"}),
                 {"--lr-schedule", "missing parameter decay_rate"});
  expect_user_error(train({"--lr-schedule", "cosine:decay_steps=ten"}),
                 {"--lr-schedule", "decay_steps expects a whole number of 1 or more, found \"ten\""});
  expect_user_error(train({"--lr-schedule", "cosine:decay_steps=0"}), {"decay_steps", "found \"0\""});
  expect_user_error(train({"--lr-schedule", "exponential:decay_steps=10,decay_rate=0.9,staircase=maybe"}),
                 {"staircase expects true or false, found \"maybe\""});
  expect_user_error(train({"--lr-schedule", "piecewise_constant:boundaries=10;20,values=0.1;0.01"}),
                 {"values must have one more entry than boundaries", "2 values for 2 boundaries"});
  expect_user_error(train({"--lr-schedule", "cosine:decay_steps=10,decay_steps=20"}), {"decay_steps is given twice"});
  expect_user_error(train({"--learning-rate", "0.1", "--lr-schedule", "cosine:decay_steps=10,initial_learning_rate=0.2"}),
                 {"--learning-rate", "initial learning rate"});
}

TEST(CompileFlags, BadClipping) {
  expect_user_error(train({"--clipnorm", "-1"}), {"--clipnorm", "-1"});
  expect_user_error(train({"--clipvalue", "big"}), {"--clipvalue"});
  expect_user_error(train({"--clipnorm", "1", "--clipvalue", "1"}), {"--clipnorm", "--clipvalue"});
}

// A model file whose output cannot take one class label per sample under the loss asked for.
TEST(CompileFlags, LossThatDoesNotFitTheOutput) {
  ScratchDir dir;
  const std::string one_unit = dir / "one_unit.keras";
  Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(1, "sigmoid")}).save(one_unit);
  expect_user_error(train({"--loss", "categorical_crossentropy"}, one_unit),
                 {"categorical_crossentropy", "one unit", "binary_crossentropy"});
  const std::string maps = dir / "maps.keras";
  Sequential({layers::Input({28, 28, 1}), layers::Conv2D(2, {3, 3})}).save(maps);
  expect_user_error(train({"--loss", "mse"}, maps), {"mean_squared_error", "(None, 26, 26, 2)", "one class label"});
}

// One sigmoid unit on labels 0 and 1: the labels are the targets themselves (no one-hot), and
// "accuracy" resolves to Keras' binary accuracy.
TEST(CompileFlags, OneUnitTakesBinaryLabels) {
  ScratchDir dir;
  const fs::path data = dir.path() / "binary";
  fs::create_directories(data);
  auto image = [](size_t i) { return static_cast<uint8_t>((i * 37) % 256); };
  auto label = [](size_t i) { return static_cast<uint8_t>(i % 2); };
  for (const auto& [split, n] : {std::pair<std::string, uint32_t>{"train", 64}, {"t10k", 16}}) {
    test_util::write_bytes(data / (split + "-images-idx3-ubyte.gz"), test_util::gzip(test_util::idx_ubyte({n, 28, 28}, image)));
    test_util::write_bytes(data / (split + "-labels-idx1-ubyte.gz"), test_util::gzip(test_util::idx_ubyte({n}, label)));
  }
  const std::string file = dir / "one_unit.keras";
  Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(1, "sigmoid")}).save(file);
  const CommandResult r = run_cli({"train", "--model", file, "--dataset", data.string(), "--batch-size", "16",
                                   "--verbose", "0", "--json", "--loss", "binary_crossentropy"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const json j = json::parse(r.out);
  EXPECT_EQ(j["compile_config"]["loss"], "binary_crossentropy");
  EXPECT_GE(j["test_accuracy"].get<double>(), 0.0);
  EXPECT_LE(j["test_accuracy"].get<double>(), 1.0);
  // sparse_categorical_crossentropy on one unit: label 1 is no class of it.
  expect_user_error(run_cli({"train", "--model", file, "--dataset", data.string(), "--verbose", "0"}),
                 {"label out of range", "expected 0 <= label < 1"});
}

}  // namespace
}  // namespace kerosene
