// Callbacks change the logs, as in Keras: what a LambdaCallback adds in on_epoch_end, and the
// "learning_rate" LearningRateScheduler and ReduceLROnPlateau add, reach the History and a
// CSVLogger after them (tests/reference/optimizer_extras.json "callback_logs", from
// scripts/make_optimizer_extras_reference.py); what one adds to a batch's logs is gone at the next.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "data/data_test_files.h"
#include "kerosene/callbacks.h"
#include "kerosene/layers.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

using data_testing::TempDir;

Sequential reference_model(const json& ref) {
  Sequential model({layers::Input(Shape{4}), layers::Dense(5, "tanh"), layers::Dense(3)});
  std::vector<Tensor> initial;
  for (const json& w : ref["initial_weights"]) initial.push_back(tensor_of(w));
  model.set_weights(initial);
  return model;
}

TEST(CallbackLogsTest, AddedKeysReachHistoryAndCSVLoggerAsKeras) {
  const json ref = load_reference("optimizer_extras.json");
  const json& expected = ref["callback_logs"];
  Sequential model = reference_model(ref);
  model.compile(optimizers::SGD({.learning_rate = 0.1f}), "mse");
  TempDir dir;
  const std::string csv_path = dir / "log.csv";
  FitOptions fit;
  fit.batch_size = 2;
  fit.epochs = 3;
  fit.shuffle = false;
  fit.verbose = 0;
  auto extra = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallback::Functions{
      .on_epoch_end = [](int epoch, Logs& logs) { logs.set("extra", 10.0 * epoch + 0.5); }});
  fit.callbacks = {extra,
                   std::make_shared<callbacks::LearningRateScheduler>([](int epoch, double lr) { return epoch > 0 ? lr * 0.5 : lr; }),
                   std::make_shared<callbacks::ReduceLROnPlateau>(
                       callbacks::ReduceLROnPlateau::Options{.monitor = "loss", .factor = 0.5, .patience = 1, .min_delta = 10}),
                   std::make_shared<callbacks::CSVLogger>(csv_path)};
  const History history = model.fit(tensor_of(ref["x"]), tensor_of(ref["y"]), fit);

  ASSERT_EQ(history.history.size(), expected["history"].size());
  for (const auto& [key, values] : expected["history"].items()) {
    ASSERT_TRUE(history.history.contains(key)) << "History has no \"" << key << "\"";
    const std::vector<double>& got = history.history.at(key);
    ASSERT_EQ(got.size(), values.size()) << key;
    for (size_t e = 0; e < got.size(); ++e) EXPECT_NEAR(got[e], values[e].get<double>(), 2e-5) << key << " epoch " << e;
  }

  std::ifstream in(csv_path);
  std::string header;
  std::getline(in, header);
  if (!header.empty() && header.back() == '\r') header.pop_back();
  EXPECT_EQ(header, expected["csv_header"].get<std::string>());
  std::string line;
  size_t row = 0;
  for (; std::getline(in, line) && row < expected["csv_rows"].size(); ++row) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::stringstream fields(line);
    std::string field;
    for (const json& want : expected["csv_rows"][row]) {
      ASSERT_TRUE(std::getline(fields, field, ',')) << "row " << row << ": " << line;
      if (want.is_string()) {
        EXPECT_EQ(field, want.get<std::string>()) << "row " << row;
      } else {
        EXPECT_NEAR(std::stod(field), want.get<double>(), 2e-5) << "row " << row << ": " << line;
      }
    }
  }
  EXPECT_EQ(row, expected["csv_rows"].size());
}

// Keras gives every batch fresh logs: a key a callback adds to one batch's is not in the next
// one's, nor in the epoch's.
TEST(CallbackLogsTest, BatchAdditionsDoNotLeakIntoTheNextBatchOrTheEpoch) {
  const json ref = load_reference("optimizer_extras.json");
  Sequential model = reference_model(ref);
  model.compile(optimizers::SGD({.learning_rate = 0.1f}), "mse");
  std::vector<bool> seen_before_adding;
  bool in_epoch_logs = true;
  auto probe = std::make_shared<callbacks::LambdaCallback>(callbacks::LambdaCallback::Functions{
      .on_epoch_end = [&](int, Logs& logs) { in_epoch_logs = logs.contains("batch_note"); },
      .on_batch_end = [&](int batch, Logs& logs) {
        seen_before_adding.push_back(logs.contains("batch_note"));
        logs.set("batch_note", batch);
      }});
  FitOptions fit;
  fit.batch_size = 2;
  fit.epochs = 1;
  fit.verbose = 0;
  fit.callbacks = {probe};
  const History history = model.fit(tensor_of(ref["x"]), tensor_of(ref["y"]), fit);
  EXPECT_EQ(seen_before_adding, std::vector<bool>(4, false));
  EXPECT_FALSE(in_epoch_logs);
  EXPECT_FALSE(history.history.contains("batch_note"));
}

}  // namespace
}  // namespace kerosene::test
