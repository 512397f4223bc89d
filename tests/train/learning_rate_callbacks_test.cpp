// LearningRateScheduler, ReduceLROnPlateau and LambdaCallback, driven by hand-made logs on a
// compiled model. The expected sequences are Keras 3.15's, from the same calls on a Keras model
// (keras.callbacks.ReduceLROnPlateau(...).on_epoch_end(epoch, {"val_loss": v})).
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/layers.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"

namespace kerosene {
namespace {

using callbacks::ReduceLROnPlateau;

Sequential compiled_model(const Optimizer& optimizer) {
  Sequential model({layers::Input(Shape{1}), layers::Dense(1)});
  model.compile(optimizer, "mse");
  return model;
}

// A temporary as an lvalue: the hooks take Logs&, as Keras callbacks may change the logs.
template <class T>
T& lvalue(T&& t) {
  return t;
}

// (learning rate, wait, cooldown counter) after each epoch's value.
using Trace = std::vector<std::tuple<double, int, int>>;

Trace run(ReduceLROnPlateau::Options options, const std::vector<double>& values) {
  Sequential model = compiled_model(optimizers::SGD({.learning_rate = 1.0f}));
  ReduceLROnPlateau callback(options);
  callback.set_model(&model);
  callback.on_train_begin(lvalue(Logs{}));
  Trace trace;
  for (int epoch = 0; epoch < static_cast<int>(values.size()); ++epoch) {
    Logs logs;
    logs.set("loss", 1.0);
    logs.set(options.monitor, values[static_cast<size_t>(epoch)]);
    callback.on_epoch_end(epoch, logs);
    trace.emplace_back(static_cast<double>(model.optimizer().learning_rate()), callback.wait(), callback.cooldown_counter());
  }
  return trace;
}

const std::vector<double> kPlateaus{1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 0.5, 0.6, 0.7, 0.8, 0.9};

TEST(ReduceLROnPlateauTest, ReducesAfterPatienceEpochsWithoutImprovement) {
  const Trace expected{{1.0, 0, 0},   {1.0, 0, 0},   {1.0, 1, 0},    {0.5, 0, 0},    {0.5, 1, 0},
                       {0.25, 0, 0},  {0.25, 1, 0},  {0.125, 0, 0},  {0.125, 0, 0},  {0.125, 1, 0},
                       {0.0625, 0, 0}, {0.0625, 1, 0}, {0.03125, 0, 0}};
  EXPECT_EQ(run({.factor = 0.5, .patience = 2}, kPlateaus), expected);
}

TEST(ReduceLROnPlateauTest, CooldownEpochsDoNotCountTowardsPatience) {
  const Trace expected{{1.0, 0, 0},  {1.0, 0, 0},  {1.0, 1, 0},  {0.5, 0, 2},   {0.5, 0, 1},   {0.5, 1, 0},   {0.25, 0, 2},
                       {0.25, 0, 1}, {0.25, 0, 0}, {0.25, 1, 0}, {0.125, 0, 2}, {0.125, 0, 1}, {0.125, 1, 0}};
  EXPECT_EQ(run({.factor = 0.5, .patience = 2, .cooldown = 2}, kPlateaus), expected);
}

TEST(ReduceLROnPlateauTest, NeverGoesBelowMinLrAndStopsReducingThere) {
  const double lr1 = static_cast<double>(0.1f), lr2 = static_cast<double>(0.05f);
  const Trace expected{{1.0, 0, 0}, {1.0, 0, 0}, {lr1, 0, 1}, {lr2, 0, 1}, {lr2, 1, 0}, {lr2, 2, 0}, {lr2, 3, 0},
                       {lr2, 4, 0}, {lr2, 0, 0}, {lr2, 1, 0}, {lr2, 2, 0}, {lr2, 3, 0}, {lr2, 4, 0}};
  EXPECT_EQ(run({.factor = 0.1, .patience = 1, .cooldown = 1, .min_lr = 0.05}, kPlateaus), expected);
}

TEST(ReduceLROnPlateauTest, ChangesSmallerThanMinDeltaAreNoImprovement) {
  const Trace expected{{1.0, 0, 0}, {0.5, 0, 0}, {0.25, 0, 0}, {0.25, 0, 0}, {0.25, 0, 0}};
  EXPECT_EQ(run({.factor = 0.5, .patience = 1}, {0.5, 0.5, 0.50005, 0.4, 0.3}), expected);
}

TEST(ReduceLROnPlateauTest, MaxModeAndKerasErrors) {
  const Trace expected{{1.0, 0, 0}, {0.5, 0, 0}, {0.5, 0, 0}, {0.25, 0, 0}};
  EXPECT_EQ(run({.monitor = "val_accuracy", .factor = 0.5, .patience = 1, .mode = "max"}, {0.5, 0.4, 0.6, 0.3}), expected);
  EXPECT_THROW(ReduceLROnPlateau({.factor = 1.0}), ValueError);
  EXPECT_THROW(ReduceLROnPlateau({.mode = "up"}), ValueError);
}

TEST(ReduceLROnPlateauTest, VerboseLineAndMissingMonitorWarning) {
  std::ostringstream out;
  Sequential model = compiled_model(optimizers::Adam({.learning_rate = 0.01f}));
  ReduceLROnPlateau callback({.factor = 0.5, .patience = 1, .verbose = 1, .out = &out});
  callback.set_model(&model);
  callback.on_train_begin(lvalue(Logs{}));
  Logs logs;
  logs.set("loss", 1.0);
  callback.on_epoch_end(0, logs);
  callback.on_epoch_end(1, logs);
  EXPECT_NE(out.str().find("Learning rate reduction is conditioned on metric `val_loss` which is not available. "
                           "Available metrics are: loss,learning_rate."),
            std::string::npos)
      << out.str();
  EXPECT_EQ(out.str().find("conditioned", out.str().find("conditioned") + 1), std::string::npos) << "warned twice";
  logs.set("val_loss", 1.0);
  callback.on_epoch_end(2, logs);
  callback.on_epoch_end(3, logs);
  EXPECT_NE(out.str().find("\nEpoch 4: ReduceLROnPlateau reducing learning rate to 0.004999999888241291."),
            std::string::npos)
      << out.str();
}

TEST(LearningRateSchedulerTest, SetsTheLearningRateAtEachEpochBegin) {
  Sequential model = compiled_model(optimizers::SGD({.learning_rate = 0.1f}));
  std::ostringstream out;
  std::vector<double> seen;
  callbacks::LearningRateScheduler callback(
      [&](int epoch, double lr) {
        seen.push_back(lr);
        return epoch < 1 ? lr : lr * 0.5;
      },
      1, &out);
  callback.set_model(&model);
  for (int epoch = 0; epoch < 3; ++epoch) callback.on_epoch_begin(epoch, lvalue(Logs{}));
  EXPECT_FLOAT_EQ(model.optimizer().learning_rate(), 0.025f);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_DOUBLE_EQ(seen[1], static_cast<double>(0.1f));
  EXPECT_NE(out.str().find("\nEpoch 3: LearningRateScheduler setting learning rate to 0.02500000037252903.\n"),
            std::string::npos)
      << out.str();
}

TEST(LearningRateSchedulerTest, AnOptimizerWithAScheduleIsNotSettable) {
  Sequential model =
      compiled_model(optimizers::SGD({.learning_rate = optimizers::schedules::ExponentialDecay(0.1f, 10, 0.5f)}));
  callbacks::LearningRateScheduler callback([](int, double lr) { return lr; });
  callback.set_model(&model);
  EXPECT_THROW(callback.on_epoch_begin(0, lvalue(Logs{})), RuntimeError);
}

TEST(LambdaCallbackTest, KerasStyleFunctionsAndModelOptimizer) {
  Sequential model = compiled_model(optimizers::SGD({.learning_rate = 0.1f}));
  std::vector<int> epochs;
  callbacks::LambdaCallback callback({.on_epoch_begin = [&](int epoch, const Logs&) { epochs.push_back(epoch); },
                                      .on_train_end = [&](const Logs&) { model.optimizer().set_learning_rate(0.5f); }});
  callback.set_model(&model);
  callback.on_epoch_begin(3, lvalue(Logs{}));
  callback.on_epoch_end(3, lvalue(Logs{}));
  callback.on_train_end(lvalue(Logs{}));
  EXPECT_EQ(epochs, std::vector<int>{3});
  EXPECT_FLOAT_EQ(model.optimizer().learning_rate(), 0.5f);
  Sequential uncompiled({layers::Input(Shape{1}), layers::Dense(1)});
  EXPECT_THROW(uncompiled.optimizer(), RuntimeError);
}

}  // namespace
}  // namespace kerosene
