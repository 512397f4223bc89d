// ProgbarLogger must print what Keras 2.x prints; these tests pin the text, with regexes only
// where the line holds timings.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kerosene/callbacks.h"

namespace kerosene {
namespace {

using callbacks::ProgbarLogger;

Logs make_logs(std::vector<std::pair<std::string, double>> values) {
  Logs logs;
  for (const auto& [name, value] : values) logs.set(name, value);
  return logs;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// A logger writing to `out` as a plain (non-terminal) stream would.
ProgbarLogger make_logger(std::ostringstream& out, CallbackParams params, bool dynamic = false) {
  ProgbarLogger logger(params.verbose, &out);
  logger.set_params(params);
  logger.set_dynamic_display(dynamic);
  return logger;
}

void run_epoch(ProgbarLogger& logger, int epoch, int steps, const Logs& batch_logs,
               const Logs& epoch_logs) {
  logger.on_epoch_begin(epoch, Logs{});
  for (int b = 0; b < steps; ++b) logger.on_train_batch_end(b, batch_logs);
  logger.on_epoch_end(epoch, epoch_logs);
}

TEST(ProgbarLoggerTest, FinalLineVerbose1) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 1875, .verbose = 1});
  Logs logs = make_logs({{"loss", 0.29617}, {"accuracy", 0.91381}});
  logger.on_train_begin(Logs{});
  run_epoch(logger, 0, 1875, logs, logs);
  logger.on_train_end(Logs{});
  auto lines = split_lines(out.str());
  ASSERT_GE(lines.size(), 2u);
  EXPECT_TRUE(std::regex_match(
      lines.back(), std::regex(R"(1875/1875 \[={30}\] - \d+s \d+(us|ms|s)/step)"
                               R"( - loss: 0\.2962 - accuracy: 0\.9138)")))
      << lines.back();
  // Keras prints no `Epoch 1/1` header for a single epoch.
  EXPECT_EQ(out.str().find("Epoch"), std::string::npos);
  EXPECT_EQ(out.str().back(), '\n');
}

TEST(ProgbarLoggerTest, EpochHeaderBeforeEachEpoch) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 3, .steps = 2, .verbose = 1});
  logger.on_train_begin(Logs{});
  logger.on_epoch_begin(1, Logs{});
  EXPECT_EQ(out.str(), "Epoch 2/3\n");
}

TEST(ProgbarLoggerTest, PartialBarShowsArrowAndEta) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 30, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  logger.on_train_batch_end(9, make_logs({{"loss", 0.5}}));
  EXPECT_TRUE(std::regex_match(
      out.str(), std::regex(R"(10/30 \[=========>\.{20}\] - ETA: \d+s - loss: 0\.5000\n)")))
      << out.str();
}

TEST(ProgbarLoggerTest, CountRightAlignedAndEmptyBarAtStart) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 1875, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  logger.on_train_batch_end(0, Logs{});
  // int(30 * 1/1875) == 0: no '>' yet.
  EXPECT_EQ(out.str().rfind("   1/1875 [..............................] - ETA: ", 0), 0u)
      << out.str();
}

TEST(ProgbarLoggerTest, TinyValuesInScientificNotation) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 4, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  logger.on_epoch_end(0, make_logs({{"loss", 1.234e-5}, {"mae", 0.001}, {"neg", -0.5},
                                    {"zero", 0.0}, {"val_loss", 0.25}}));
  std::string text = out.str();
  EXPECT_NE(text.find(" - loss: 1.2340e-05 - mae: 1.0000e-03 - neg: -0.5000"
                      " - zero: 0.0000e+00 - val_loss: 0.2500\n"),
            std::string::npos)
      << text;
}

TEST(ProgbarLoggerTest, SkipsBatchAndSizeEntries) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 4, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  logger.on_epoch_end(0, make_logs({{"batch", 3}, {"size", 32}, {"loss", 0.5}}));
  EXPECT_EQ(out.str().find("batch"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("size"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("/step - loss: 0.5000\n"), std::string::npos) << out.str();
}

TEST(ProgbarLoggerTest, NonDynamicPrintsWholeThrottledLines) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 200, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  Logs logs = make_logs({{"loss", 0.5}});
  for (int b = 0; b < 200; ++b) logger.on_train_batch_end(b, logs);
  logger.on_epoch_end(0, logs);
  std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  ASSERT_EQ(text.back(), '\n');
  // The first update and the final line; the 1 s throttle drops the rest.
  auto lines = split_lines(text);
  ASSERT_EQ(lines.size(), 2u) << text;
  EXPECT_EQ(lines[0].rfind("  1/200 [", 0), 0u);
  EXPECT_EQ(lines[1].rfind("200/200 [", 0), 0u);
}

TEST(ProgbarLoggerTest, DynamicRedrawsInPlaceAndPads) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 3, .verbose = 1}, /*dynamic=*/true);
  logger.on_epoch_begin(0, Logs{});
  logger.on_train_batch_end(0, make_logs({{"loss", 0.5}, {"a_rather_long_metric_name", 1.0}}));
  logger.on_epoch_end(0, make_logs({{"loss", 0.5}}));
  std::string text = out.str();
  ASSERT_EQ(std::count(text.begin(), text.end(), '\r'), 2) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.back(), '\n');
  size_t second = text.rfind('\r');
  std::string first_line = text.substr(1, second - 1);
  std::string last_line = text.substr(second + 1, text.size() - second - 2);
  // The shorter final line is padded so no tail of the longer one stays on screen.
  EXPECT_EQ(last_line.size(), first_line.size()) << text;
  EXPECT_EQ(last_line.back(), ' ');
  EXPECT_EQ(last_line.rfind("3/3 [==============================] - ", 0), 0u) << last_line;
}

TEST(ProgbarLoggerTest, DynamicThrottlesToTwentyRedrawsPerSecond) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 10, .verbose = 1}, /*dynamic=*/true);
  logger.on_epoch_begin(0, Logs{});
  logger.on_train_batch_end(0, Logs{});
  logger.on_train_batch_end(1, Logs{});  // within 0.05 s of the first: dropped
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  logger.on_train_batch_end(2, Logs{});
  logger.on_epoch_end(0, Logs{});
  std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\r'), 3) << text;
  EXPECT_EQ(text.find(" 2/10 ["), std::string::npos) << text;
  EXPECT_NE(text.find(" 3/10 ["), std::string::npos) << text;
}

TEST(ProgbarLoggerTest, Verbose2OneLinePerEpoch) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 2, .steps = 1875, .verbose = 2});
  Logs logs = make_logs({{"loss", 0.29617}, {"accuracy", 0.91381}});
  logger.on_train_begin(Logs{});
  run_epoch(logger, 0, 1875, logs, logs);
  EXPECT_TRUE(std::regex_match(
      out.str(), std::regex(R"(Epoch 1/2\n1875/1875 - \d+s - loss: 0\.2962 - accuracy: 0\.9138)"
                            R"( - \d+(us|ms|s)/epoch - \d+(us|ms|s)/step\n)")))
      << out.str();
}

TEST(ProgbarLoggerTest, Verbose0PrintsNothing) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 2, .steps = 3, .verbose = 0});
  Logs logs = make_logs({{"loss", 0.5}});
  logger.on_train_begin(Logs{});
  run_epoch(logger, 0, 3, logs, logs);
  logger.on_train_end(Logs{});
  logger.on_test_begin(Logs{});
  logger.on_test_batch_end(0, logs);
  logger.on_test_end(logs);
  logger.on_predict_begin(Logs{});
  logger.on_predict_batch_end(0, Logs{});
  logger.on_predict_end(Logs{});
  EXPECT_EQ(out.str(), "");
}

TEST(ProgbarLoggerTest, EvaluateInsideFitPrintsNothing) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 3, .verbose = 1});
  Logs logs = make_logs({{"loss", 0.5}});
  logger.on_train_begin(Logs{});
  logger.on_epoch_begin(0, Logs{});
  for (int b = 0; b < 3; ++b) logger.on_train_batch_end(b, logs);
  std::string before = out.str();
  // Validation: fit runs the test hooks on the same logger; their steps differ.
  logger.on_test_begin(Logs{});
  for (int b = 0; b < 5; ++b) logger.on_test_batch_end(b, logs);
  logger.on_test_end(logs);
  EXPECT_EQ(out.str(), before);
  logger.on_epoch_end(0, make_logs({{"loss", 0.5}, {"val_loss", 0.75}}));
  logger.on_train_end(Logs{});
  auto lines = split_lines(out.str());
  EXPECT_TRUE(std::regex_match(lines.back(),
                               std::regex(R"(3/3 \[={30}\] - \d+s \d+(us|ms|s)/step)"
                                          R"( - loss: 0\.5000 - val_loss: 0\.7500)")))
      << out.str();
}

TEST(ProgbarLoggerTest, EvaluateShowsBarAndFinalLogs) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 313, .verbose = 1});
  logger.on_test_begin(Logs{});
  for (int b = 0; b < 313; ++b) logger.on_test_batch_end(b, make_logs({{"loss", 0.1}}));
  logger.on_test_end(make_logs({{"loss", 0.07161}, {"accuracy", 0.97801}}));
  std::string text = out.str();
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  auto lines = split_lines(text);
  EXPECT_TRUE(std::regex_match(lines.back(),
                               std::regex(R"(313/313 \[={30}\] - \d+s \d+(us|ms|s)/step)"
                                          R"( - loss: 0\.0716 - accuracy: 0\.9780)")))
      << text;
}

TEST(ProgbarLoggerTest, PredictShowsBarWithoutMetrics) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 10, .verbose = 1});
  logger.on_predict_begin(Logs{});
  for (int b = 0; b < 10; ++b) logger.on_predict_batch_end(b, make_logs({{"loss", 0.5}}));
  logger.on_predict_end(Logs{});
  auto lines = split_lines(out.str());
  ASSERT_FALSE(lines.empty());
  EXPECT_TRUE(
      std::regex_match(lines.back(), std::regex(R"(10/10 \[={30}\] - \d+s \d+(us|ms|s)/step)")))
      << out.str();
}

TEST(ProgbarLoggerTest, UnknownStepsShowCountOnly) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 0, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  for (int b = 0; b < 5; ++b) logger.on_train_batch_end(b, Logs{});
  logger.on_epoch_end(0, make_logs({{"loss", 0.5}}));
  auto lines = split_lines(out.str());
  EXPECT_TRUE(std::regex_match(
      lines.back(), std::regex(R"(      5/Unknown - \d+s \d+(us|ms|s)/step - loss: 0\.5000)")))
      << out.str();
}

TEST(ProgbarLoggerTest, StreamOtherThanStdStreamsIsNotDynamic) {
  std::ostringstream out;
  ProgbarLogger logger(1, &out);  // no set_dynamic_display: the default must be whole lines
  logger.set_params({.epochs = 1, .steps = 2, .verbose = 1});
  logger.on_epoch_begin(0, Logs{});
  logger.on_train_batch_end(0, Logs{});
  logger.on_epoch_end(0, Logs{});
  EXPECT_EQ(out.str().find('\r'), std::string::npos) << out.str();
  EXPECT_EQ(split_lines(out.str()).size(), 2u) << out.str();
}

}  // namespace
}  // namespace kerosene
