// Logs, EarlyStopping's stopping rule and TerminateOnNaN, driven by hand-made logs without a
// model (model() null: the callbacks only record their decision). Restoring weights needs a
// real Sequential: early_stopping_restore_test.cpp.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "kerosene/callbacks.h"
#include "kerosene/error.h"

namespace kerosene {
namespace {

// A temporary as an lvalue: the hooks take Logs&, as Keras callbacks may change the logs.
template <class T>
T& lvalue(T&& t) {
  return t;
}

using callbacks::EarlyStopping;
using callbacks::TerminateOnNaN;

TEST(LogsTest, SetKeepsOrderAndUpdatesInPlace) {
  Logs logs;
  logs.set("loss", 1.0);
  logs.set("accuracy", 0.5);
  const auto* storage = logs.entries().data();
  logs.set("loss", 0.25);
  ASSERT_EQ(logs.entries().size(), 2u);
  EXPECT_EQ(logs.entries().data(), storage);  // no reallocation for an existing name
  EXPECT_EQ(logs.entries()[0].first, "loss");
  EXPECT_EQ(logs.entries()[0].second, 0.25);
  EXPECT_EQ(logs.entries()[1].first, "accuracy");
  EXPECT_EQ(logs.get("accuracy"), 0.5);
  EXPECT_FALSE(logs.get("val_loss").has_value());
  EXPECT_TRUE(logs.contains("loss"));
  logs.clear();
  EXPECT_TRUE(logs.empty());
}

// Feeds `values` of `monitor` as successive epochs; returns the epoch at which it asked to stop.
int run(EarlyStopping& es, const std::vector<double>& values,
        const std::string& monitor = "val_loss") {
  es.on_train_begin(lvalue(Logs{}));
  for (int epoch = 0; epoch < static_cast<int>(values.size()); ++epoch) {
    Logs logs;
    logs.set("loss", 1.0);
    logs.set(monitor, values[epoch]);
    es.on_epoch_end(epoch, logs);
    if (es.stopped_epoch() >= 0) break;
  }
  es.on_train_end(lvalue(Logs{}));
  return es.stopped_epoch();
}

TEST(EarlyStoppingTest, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping es({.patience = 2});
  EXPECT_EQ(run(es, {1.0, 0.9, 0.95, 0.96, 0.5}), 3);
  EXPECT_EQ(es.best_epoch(), 1);
  EXPECT_EQ(es.best(), 0.9);
}

TEST(EarlyStoppingTest, KeepsGoingWhileImprovingEvenWithPatienceZero) {
  EarlyStopping es({.patience = 0});
  EXPECT_EQ(run(es, {1.0, 0.9, 0.8, 0.7}), -1);
  EXPECT_EQ(run(es, {1.0, 0.9, 0.95}), 2);
}

TEST(EarlyStoppingTest, ImprovementSmallerThanMinDeltaDoesNotCount) {
  EarlyStopping es({.min_delta = -0.1, .patience = 1});  // the sign is ignored, as in Keras
  EXPECT_EQ(run(es, {1.0, 0.95, 0.92}), 1);
  EarlyStopping loose({.min_delta = 0.01, .patience = 1});
  EXPECT_EQ(run(loose, {1.0, 0.95, 0.92}), -1);
}

TEST(EarlyStoppingTest, AutoModeMaximizesAccuracyAndAuc) {
  EarlyStopping acc({.monitor = "val_accuracy", .patience = 1});
  EXPECT_EQ(run(acc, {0.5, 0.6, 0.7, 0.65}, "val_accuracy"), 3);
  EarlyStopping auc({.monitor = "val_auc", .patience = 1});
  EXPECT_EQ(run(auc, {0.5, 0.6, 0.55}, "val_auc"), 2);
  EarlyStopping forced_min({.monitor = "val_accuracy", .patience = 1, .mode = "min"});
  EXPECT_EQ(run(forced_min, {0.5, 0.6, 0.7}, "val_accuracy"), 1);
  EarlyStopping loss({.monitor = "loss", .patience = 1});
  EXPECT_EQ(run(loss, {0.5, 0.6}, "loss"), 1);
}

TEST(EarlyStoppingTest, BaselineMustBeBeatenToResetPatience) {
  EarlyStopping es({.patience = 2, .baseline = 0.5});
  EXPECT_EQ(run(es, {0.9, 0.8, 0.7, 0.6}), 1);
  EarlyStopping reached({.patience = 2, .baseline = 0.5});
  EXPECT_EQ(run(reached, {0.4, 0.3, 0.2, 0.1}), -1);
  // Missing the baseline at epoch 0 uses up patience 0, but Keras never stops at epoch 0.
  EarlyStopping impatient({.patience = 0, .baseline = 0.5});
  EXPECT_EQ(run(impatient, {0.9, 0.8}), 1);
}

TEST(EarlyStoppingTest, IgnoresEpochsBeforeStartFromEpoch) {
  EarlyStopping late({.patience = 0, .start_from_epoch = 2});
  EXPECT_EQ(run(late, {1, 2, 3, 4}), 3);
  EXPECT_EQ(late.best_epoch(), 2);
  EarlyStopping early({.patience = 0});
  EXPECT_EQ(run(early, {1, 2, 3, 4}), 1);
}

TEST(EarlyStoppingTest, ReusableAcrossFits) {
  EarlyStopping es({.patience = 1});
  EXPECT_EQ(run(es, {1.0, 2.0}), 1);
  EXPECT_EQ(run(es, {5.0, 4.0, 3.0}), -1);  // best and wait were reset
  EXPECT_EQ(es.best(), 3.0);
  // A count left over from the last fit must not shorten the next one.
  EarlyStopping below_baseline({.patience = 3, .baseline = 0.5});
  EXPECT_EQ(run(below_baseline, {0.9, 0.9}), -1);
  EXPECT_EQ(below_baseline.wait(), 2);
  EXPECT_EQ(run(below_baseline, {0.9, 0.9, 0.9, 0.9}), 2);
}

TEST(EarlyStoppingTest, MissingMonitorWarnsOnceAndNeverStops) {
  std::ostringstream out;
  EarlyStopping es({.monitor = "val_los", .patience = 0, .out = &out});
  EXPECT_EQ(run(es, {1.0, 2.0, 3.0}), -1);
  std::string text = out.str();
  EXPECT_NE(text.find("`val_los` which is not available. Available metrics are: loss,val_loss"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("val_los`"), text.rfind("val_los`")) << "warned more than once: " << text;
}

TEST(EarlyStoppingTest, VerboseSaysWhenItStopped) {
  std::ostringstream out;
  EarlyStopping es({.patience = 1, .verbose = 1, .out = &out});
  run(es, {1.0, 0.5, 0.6, 0.7});
  EXPECT_EQ(out.str(), "Epoch 3: early stopping\n");
  std::ostringstream quiet;
  EarlyStopping silent({.patience = 1, .out = &quiet});
  run(silent, {1.0, 0.5, 0.6});
  EXPECT_EQ(quiet.str(), "");
}

TEST(EarlyStoppingTest, RejectsUnknownModeAndNegativePatience) {
  EXPECT_THROW(EarlyStopping({.mode = "minimum"}), ValueError);
  EXPECT_THROW(EarlyStopping({.patience = -1}), ValueError);
}

bool terminates_on(double loss) {
  TerminateOnNaN t;
  Logs logs;
  logs.set("loss", loss);
  testing::internal::CaptureStderr();
  t.on_train_batch_end(7, logs);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err.empty(), !t.terminated()) << err;
  if (t.terminated()) {
    EXPECT_EQ(err, "Batch 7: Invalid loss, terminating training\n");
  }
  return t.terminated();
}

TEST(TerminateOnNaNTest, StopsOnNaNAndInfinityOnly) {
  EXPECT_TRUE(terminates_on(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_TRUE(terminates_on(std::numeric_limits<double>::infinity()));
  EXPECT_TRUE(terminates_on(-std::numeric_limits<double>::infinity()));
  EXPECT_FALSE(terminates_on(0.5));
  EXPECT_FALSE(terminates_on(1e300));
}

TEST(TerminateOnNaNTest, IgnoresLogsWithoutLoss) {
  TerminateOnNaN t;
  Logs logs;
  logs.set("accuracy", std::nan(""));
  t.on_train_batch_end(0, logs);
  EXPECT_FALSE(t.terminated());
}

}  // namespace
}  // namespace kerosene
