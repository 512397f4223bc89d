// TensorBoard and CSVLogger in a real fit: the runs, tags, steps and values Keras 3 writes,
// read back with the test-side reader (tests/io/event_file_reader.h); CSV header, rows, append.
// With KEROSENE_TB_KEEP_DIR set, the fit test leaves its logs there (tensorboard_reads_kerosene.py
// reads them with TensorBoard's own reader).
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "io/event_file_reader.h"
#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"

namespace kerosene {
namespace {

// A temporary as an lvalue: the hooks take Logs&, as Keras callbacks may change the logs.
template <class T>
T& lvalue(T&& t) {
  return t;
}

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("kerosene_tbfit_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// 12 samples of 4 features, labels 0..2 (as fit_test's small_data).
std::pair<Tensor, Tensor> small_data(int64_t n, int offset = 0) {
  std::vector<float> x(n * 4);
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<int32_t>((i + offset) % 3);
    for (int j = 0; j < 4; ++j) x[i * 4 + j] = static_cast<float>((i * 7 + j * 3 + offset) % 5) / 5.0f + (j == y[i] ? 1.0f : 0.0f);
  }
  return {Tensor::from_vector(x, {n, 4}), Tensor::from_vector(y, {n})};
}

Sequential compiled_model() {
  Sequential model({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(3, "softmax")});
  model.compile(optimizers::SGD({.learning_rate = 0.05f}), "sparse_categorical_crossentropy", {"accuracy"});
  return model;
}

// tag -> (step, value) in file order, without the file_version record.
std::map<std::string, std::vector<std::pair<int64_t, float>>> scalars_of(const std::string& file) {
  std::map<std::string, std::vector<std::pair<int64_t, float>>> out;
  const auto events = test::read_event_file(file);
  EXPECT_FALSE(events.empty());
  if (!events.empty()) {
    EXPECT_EQ(events[0].file_version, "brain.Event:2");
  }
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].plugin_name, "scalars") << events[i].tag;
    EXPECT_TRUE(events[i].value.has_value()) << events[i].tag;
    out[events[i].tag].emplace_back(events[i].step, events[i].value.value_or(-1));
  }
  return out;
}

void expect_series(const std::vector<std::pair<int64_t, float>>& got, const std::vector<double>& values,
                   const std::string& tag) {
  ASSERT_EQ(got.size(), values.size()) << tag;
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_EQ(got[i].first, static_cast<int64_t>(i)) << tag;
    EXPECT_EQ(got[i].second, static_cast<float>(values[i])) << tag << " at epoch " << i;
  }
}

TEST(TensorBoardCallbackTest, FitWritesTrainAndValidationRunsAsKeras) {
  const char* keep = std::getenv("KEROSENE_TB_KEEP_DIR");
  const fs::path dir = keep != nullptr ? fs::path(keep) : fresh_dir("fit");
  fs::remove_all(dir);
  auto tensorboard = std::make_shared<callbacks::TensorBoard>((dir / "logs").string());
  auto csv = std::make_shared<callbacks::CSVLogger>((dir / "log.csv").string());
  Sequential model = compiled_model();
  auto [x, y] = small_data(12);
  FitOptions options;
  options.epochs = 3;
  options.batch_size = 4;
  options.verbose = 0;
  options.validation_data = small_data(6, 1);
  options.callbacks = {tensorboard, csv};
  const History history = model.fit(x, y, options);

  const auto train = scalars_of(test::only_event_file(dir / "logs" / "train"));
  const auto validation = scalars_of(test::only_event_file(dir / "logs" / "validation"));
  EXPECT_EQ(fs::path(tensorboard->train_file()).parent_path(), dir / "logs" / "train");
  std::vector<std::string> train_tags, validation_tags;
  for (const auto& entry : train) train_tags.push_back(entry.first);
  for (const auto& entry : validation) validation_tags.push_back(entry.first);
  EXPECT_EQ(train_tags, (std::vector<std::string>{"epoch_accuracy", "epoch_learning_rate", "epoch_loss"}));
  EXPECT_EQ(validation_tags, (std::vector<std::string>{"epoch_accuracy", "epoch_loss", "evaluation_accuracy_vs_iterations",
                                                       "evaluation_loss_vs_iterations"}));
  expect_series(train.at("epoch_loss"), history.history.at("loss"), "epoch_loss");
  expect_series(train.at("epoch_accuracy"), history.history.at("accuracy"), "epoch_accuracy");
  expect_series(train.at("epoch_learning_rate"), {0.05, 0.05, 0.05}, "epoch_learning_rate");
  expect_series(validation.at("epoch_loss"), history.history.at("val_loss"), "val epoch_loss");
  expect_series(validation.at("epoch_accuracy"), history.history.at("val_accuracy"), "val epoch_accuracy");
  // Evaluation at the optimizer's iterations: 3 batches of 4 per epoch.
  const auto& evaluation = validation.at("evaluation_loss_vs_iterations");
  ASSERT_EQ(evaluation.size(), 3u);
  for (int epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(evaluation[epoch].first, 3 * (epoch + 1));
    EXPECT_EQ(evaluation[epoch].second, static_cast<float>(history.history.at("val_loss")[epoch]));
  }
  if (keep == nullptr) fs::remove_all(dir);
}

TEST(TensorBoardCallbackTest, BatchUpdatesUseTheGlobalBatchAsStep) {
  const fs::path dir = fresh_dir("batch");
  auto tensorboard = std::make_shared<callbacks::TensorBoard>(dir.string(), 2);
  Sequential model = compiled_model();
  auto [x, y] = small_data(12);
  FitOptions options;
  options.epochs = 2;
  options.batch_size = 4;  // 3 batches per epoch: global batches 1..6, written at 2, 4, 6
  options.verbose = 0;
  options.callbacks = {tensorboard};
  model.fit(x, y, options);
  const auto train = scalars_of(test::only_event_file(dir / "train"));
  EXPECT_FALSE(fs::exists(dir / "validation"));  // no validation data: no validation run
  ASSERT_TRUE(train.count("batch_loss"));
  std::vector<int64_t> steps;
  for (const auto& [step, value] : train.at("batch_loss")) steps.push_back(step);
  EXPECT_EQ(steps, (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(train.at("batch_accuracy").size(), 3u);
  EXPECT_EQ(train.at("epoch_loss").size(), 2u);
  fs::remove_all(dir);
}

TEST(TensorBoardCallbackTest, StandaloneEvaluateWritesEvaluationTagsAtTheOptimizersIterations) {
  const fs::path dir = fresh_dir("evaluate");
  Sequential model = compiled_model();
  auto [x, y] = small_data(12);
  FitOptions fit_options;
  fit_options.batch_size = 4;  // 3 optimizer steps
  fit_options.verbose = 0;
  model.fit(x, y, fit_options);
  auto tensorboard = std::make_shared<callbacks::TensorBoard>(dir.string());
  EvaluateOptions options;
  options.verbose = 0;
  options.callbacks = {tensorboard};
  const EvaluateResult result = model.evaluate(x, y, options);
  EXPECT_FALSE(fs::exists(dir / "train"));
  const auto validation = scalars_of(test::only_event_file(dir / "validation"));
  ASSERT_TRUE(validation.count("evaluation_loss_vs_iterations"));
  const auto& loss = validation.at("evaluation_loss_vs_iterations");
  ASSERT_EQ(loss.size(), 1u);
  EXPECT_EQ(loss[0].first, 3);
  EXPECT_EQ(loss[0].second, static_cast<float>(result.loss()));
  EXPECT_EQ(validation.at("evaluation_accuracy_vs_iterations").size(), 1u);
  fs::remove_all(dir);
}

TEST(TensorBoardCallbackTest, BadArgumentsAndUncreatableLogDir) {
  EXPECT_THROW(callbacks::TensorBoard("logs", "sometimes"), ValueError);
  EXPECT_THROW(callbacks::TensorBoard("logs", 0), ValueError);
  const fs::path dir = fresh_dir("blocked");
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  callbacks::TensorBoard tensorboard((dir / "file" / "logs").string());
  try {
    tensorboard.on_train_begin(lvalue(Logs{}));
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "file" / "logs").string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

Logs logs_of(std::initializer_list<std::pair<const char*, double>> entries) {
  Logs logs;
  for (const auto& [name, value] : entries) logs.set(name, value);
  return logs;
}

TEST(CSVLoggerTest, HeaderSortedRowsAsPythonAndAppendWithoutSecondHeader) {
  const fs::path dir = fresh_dir("csv");
  fs::create_directories(dir);
  const fs::path file = dir / "training.log";
  {
    callbacks::CSVLogger csv(file.string());
    csv.on_train_begin(lvalue(Logs{}));
    csv.on_epoch_end(0, lvalue(logs_of({{"loss", 0.5}, {"accuracy", 0.25}, {"val_loss", 1e-05}, {"val_accuracy", 3.0}})));
    EXPECT_EQ(read_text(file), "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,3.0,1e-05\r\n");  // flushed
    csv.on_epoch_end(1, lvalue(logs_of({{"loss", 0.30000001192092896}, {"accuracy", 1.5e16}, {"val_loss", 123.456}})));
    csv.on_train_end(lvalue(Logs{}));
  }
  const std::string first_run =
      "epoch,accuracy,loss,val_accuracy,val_loss\r\n0,0.25,0.5,3.0,1e-05\r\n1,1.5e+16,0.30000001192092896,NA,123.456\r\n";
  EXPECT_EQ(read_text(file), first_run);

  callbacks::CSVLogger appending(file.string(), ',', /*append=*/true);
  appending.on_train_begin(lvalue(Logs{}));
  appending.on_epoch_end(2, lvalue(logs_of({{"loss", -0.0}, {"accuracy", 0.0001}})));
  appending.on_train_end(lvalue(Logs{}));
  EXPECT_EQ(read_text(file), first_run + "2,0.0001,-0.0,NA,NA\r\n");  // Keras adds val_ columns

  callbacks::CSVLogger overwriting(file.string(), ';');
  overwriting.on_train_begin(lvalue(Logs{}));
  overwriting.on_epoch_end(0, lvalue(logs_of({{"a;b", 2.0}, {"loss", 1e22}})));
  overwriting.on_train_end(lvalue(Logs{}));
  EXPECT_EQ(read_text(file), "epoch;\"a;b\";loss;\"val_a;b\";val_loss\r\n0;2.0;1e+22;NA;NA\r\n");

  fs::remove(file);
  callbacks::CSVLogger new_file_append(file.string(), ',', true);  // append to a missing file: header
  new_file_append.on_train_begin(lvalue(Logs{}));
  new_file_append.on_epoch_end(0, lvalue(logs_of({{"loss", 2.0}})));
  new_file_append.on_train_end(lvalue(Logs{}));
  EXPECT_EQ(read_text(file), "epoch,loss,val_loss\r\n0,2.0,NA\r\n");
  fs::remove_all(dir);
}

TEST(CSVLoggerTest, InFitAndUnwritablePathIsAnErrorNamingIt) {
  const fs::path dir = fresh_dir("csvfit");
  fs::create_directories(dir);
  auto csv = std::make_shared<callbacks::CSVLogger>((dir / "log.csv").string());
  Sequential model = compiled_model();
  auto [x, y] = small_data(12);
  FitOptions options;
  options.epochs = 2;
  options.verbose = 0;
  options.callbacks = {csv};
  model.fit(x, y, options);
  const std::string text = read_text(dir / "log.csv");
  EXPECT_EQ(text.substr(0, text.find("\r\n")), "epoch,accuracy,loss,val_accuracy,val_loss");
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 3);

  callbacks::CSVLogger bad((dir / "missing" / "log.csv").string());
  try {
    bad.on_train_begin(lvalue(Logs{}));
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "missing" / "log.csv").string()), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kerosene
