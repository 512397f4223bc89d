// The line that says where training runs: logged at the start of every fit whatever `verbose`
// is (in full once per process, short afterwards), silenced only by KEROSENE_MIN_LOG_LEVEL.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "kerosene/kerosene.h"
#include "runtime/log.h"
#include "train/device_verdict.h"

namespace kerosene {
namespace {

Sequential tiny_model() {
  Sequential model({layers::Input({2}), layers::Dense(1)});
  model.compile(optimizers::SGD(), "mse");
  return model;
}

std::string fit_and_capture_stderr(Sequential& model, int verbose) {
  testing::internal::CaptureStderr();
  model.fit(Tensor::zeros({4, 2}), Tensor::zeros({4, 1}), {.batch_size = 4, .verbose = verbose});
  return testing::internal::GetCapturedStderr();
}

struct LogLevel {
  explicit LogLevel(const char* level) { setenv("KEROSENE_MIN_LOG_LEVEL", level, 1); }
  ~LogLevel() { unsetenv("KEROSENE_MIN_LOG_LEVEL"); }
};

TEST(DeviceVerdictLog, EveryFitLogsItEvenWithVerboseZero) {
  Sequential model = tiny_model();
  const std::string verdict = train::device_verdict(model.device());
  const std::string first = fit_and_capture_stderr(model, 0);
  // The first fit of the process logs it in full (an earlier test in this process may have).
  EXPECT_TRUE(first == "kerosene: " + verdict + "\n" || first == "kerosene: " + train::short_verdict(verdict) + "\n")
      << first;
  const std::string second = fit_and_capture_stderr(model, 0);
  EXPECT_EQ(second, "kerosene: " + train::short_verdict(verdict) + "\n");
  const std::string third = fit_and_capture_stderr(model, 2);  // not on stdout with the bar
  EXPECT_EQ(third, second);
}

TEST(DeviceVerdictLog, ShortFormDropsTheAdvice) {
  EXPECT_EQ(train::short_verdict("Training will run on /CPU:0 because no driver; fix: install it"),
            "Training will run on /CPU:0 because no driver (the fix was logged at the first fit)");
  EXPECT_EQ(train::short_verdict("Training will run on /GPU:0 (NVIDIA H200)"), "Training will run on /GPU:0 (NVIDIA H200)");
}

TEST(DeviceVerdictLog, OnlyTheLogLevelSilencesIt) {
  Sequential model = tiny_model();
  {
    LogLevel level("2");  // no INFO, no WARNING
    EXPECT_EQ(fit_and_capture_stderr(model, 1).find("Training will run on"), std::string::npos);
  }
  {
    LogLevel level("3");
    EXPECT_EQ(fit_and_capture_stderr(model, 1), "");
  }
  // Level 1 drops INFO lines: a GPU verdict is one; training off the GPU for a reason is a WARNING.
  const std::string verdict = train::device_verdict(model.device());
  LogLevel level("1");
  const bool warning = verdict.find(" because ") != std::string::npos;
  EXPECT_EQ(fit_and_capture_stderr(model, 0).find("Training will run on") != std::string::npos, warning);
}

TEST(DeviceVerdictLog, LevelReadAsTensorFlowReadsItsOwn) {
  EXPECT_EQ(log::min_level(), 0);
  LogLevel level("2");
  EXPECT_EQ(log::min_level(), 2);
  EXPECT_FALSE(log::enabled(log::Level::warning));
  EXPECT_TRUE(log::enabled(log::Level::error));
  setenv("KEROSENE_MIN_LOG_LEVEL", "loud", 1);
  EXPECT_EQ(log::min_level(), 0);  // unreadable: nothing silenced
}

}  // namespace
}  // namespace kerosene
