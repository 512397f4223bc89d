// ProgbarLogger must print what Keras 3 prints (console_reference_test.cpp compares it with
// Keras' own output); these tests pin the rules one by one, with regexes only for timings.
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

const std::string kBar = "\xe2\x94\x81";  // '━'

std::string bars(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += kBar;
  return out;
}

// A temporary as an lvalue: the hooks take Logs&, as Keras callbacks may change the logs.
template <class T>
T& lvalue(T&& t) { return t; }

Logs make_logs(std::vector<std::pair<std::string, double>> values) {
  Logs logs;
  for (const auto& [name, value] : values) logs.set(name, value);
  return logs;
}

// Each line as a terminal ends up showing it: the text after its last '\r'.
std::vector<std::string> settled_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t cr = line.rfind('\r');
    lines.push_back(cr == std::string::npos ? line : line.substr(cr + 1));
  }
  return lines;
}

ProgbarLogger make_logger(std::ostringstream& out, CallbackParams params, int verbose = -1) {
  ProgbarLogger logger(verbose, &out);
  logger.set_params(params);
  return logger;
}

void run_epoch(ProgbarLogger& logger, int epoch, int steps, Logs batch_logs, Logs epoch_logs) {
  logger.on_epoch_begin(epoch, lvalue(Logs{}));
  for (int b = 0; b < steps; ++b) logger.on_train_batch_end(b, batch_logs);
  logger.on_epoch_end(epoch, epoch_logs);
}

TEST(ProgbarLoggerTest, FinalLineHasKeras3FormatAndSortedMetrics) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 1875, .verbose = 1});
  Logs logs = make_logs({{"loss", 0.29617}, {"accuracy", 0.91381}});
  logger.on_train_begin(lvalue(Logs{}));
  run_epoch(logger, 0, 1875, logs, logs);
  logger.on_train_end(lvalue(Logs{}));
  auto lines = settled_lines(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();  // one epoch: no "Epoch 1/1" header
  EXPECT_TRUE(std::regex_match(lines.back(), std::regex("1875/1875 " + bars(20) +
                                                        R"( \d+s \d+(us|ms|s)/step - accuracy: 0\.9138 - loss: 0\.2962)")))
      << lines.back();
}

TEST(ProgbarLoggerTest, EpochHeaderOnlyWithSeveralEpochs) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 3, .steps = 2, .verbose = 1});
  for (int e = 0; e < 3; ++e) run_epoch(logger, e, 2, make_logs({{"loss", 1}}), make_logs({{"loss", 1}}));
  const auto lines = settled_lines(out.str());
  ASSERT_EQ(lines.size(), 6u) << out.str();
  EXPECT_EQ(lines[0], "Epoch 1/3");
  EXPECT_EQ(lines[4], "Epoch 3/3");
}

TEST(ProgbarLoggerTest, ValidationValuesFollowTheOthers) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 1, .verbose = 2});
  run_epoch(logger, 0, 1, Logs{},
            make_logs({{"loss", 0.5}, {"val_loss", 0.25}, {"val_accuracy", 0.75}, {"accuracy", 0.875}, {"batch", 3}}));
  EXPECT_TRUE(std::regex_match(out.str(), std::regex(R"(1/1 - \d+s - \d+(us|ms|s)/step - accuracy: 0\.8750 - )"
                                                     R"(loss: 0\.5000 - val_accuracy: 0\.7500 - val_loss: 0\.2500\n)")))
      << out.str();
}

TEST(ProgbarLoggerTest, PartialBarShowsEtaWithoutLabelAndCountAligned) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 1875, .verbose = 1});
  logger.set_colors(true);
  logger.on_epoch_begin(0, lvalue(Logs{}));
  logger.on_train_batch_end(936, lvalue(make_logs({{"loss", 0.5}})));  // the first update is always drawn
  // 937 of 1875: int(20 * 937 / 1875) = 9 steps done, in green; the rest in white.
  EXPECT_TRUE(std::regex_match(out.str(), std::regex("\r\x1b\\[1m 937/1875\x1b\\[0m \x1b\\[32m" + bars(9) +
                                                     "\x1b\\[0m\x1b\\[37m" + bars(11) +
                                                     R"(\x1b\[0m \x1b\[1m\d+s\x1b\[0m \d+(us|ms|s)/step - loss: 0\.5000)")))
      << out.str();
}

TEST(ProgbarLoggerTest, RedrawErasesWithBackspacesAndPads) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 10, .verbose = 1});
  logger.on_epoch_begin(0, lvalue(Logs{}));
  logger.on_train_batch_end(0, lvalue(make_logs({{"loss", 12.5}, {"zeta", 1.0}})));
  const size_t first = out.str().size() - 1;  // visible width: no codes on a non-terminal stream
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  logger.on_train_batch_end(1, lvalue(make_logs({{"loss", 1.5}})));
  const std::string text = out.str();
  const size_t second = text.find('\r', 1);
  ASSERT_NE(second, std::string::npos) << text;
  // The first line, '\b' as many times as it was wide (bars count once each), '\r'.
  const size_t width = first - 2 * 20;
  EXPECT_EQ(text.substr(second - width, width), std::string(width, '\b'));
  // The shorter second line ends in spaces up to the first one's width.
  const std::string line2 = text.substr(second + 1);
  EXPECT_EQ(line2.size() - 2 * 20, width) << line2;
  EXPECT_EQ(line2.back(), ' ');
}

TEST(ProgbarLoggerTest, ThrottlesToTwentyRedrawsPerSecond) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 1000, .verbose = 1});
  logger.on_epoch_begin(0, lvalue(Logs{}));
  for (int b = 0; b < 999; ++b) logger.on_train_batch_end(b, lvalue(make_logs({{"loss", 1}})));
  // A thousand quick steps: the first is drawn, the rest fall in the same 50 ms (or a few more).
  const std::string text = out.str();
  EXPECT_LT(std::count(text.begin(), text.end(), '\r'), 5) << text;
}

TEST(ProgbarLoggerTest, Verbose2IsOneLinePerEpoch) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 2, .steps = 239, .verbose = 2});
  for (int e = 0; e < 2; ++e) run_epoch(logger, e, 239, make_logs({{"loss", 0.1}}), make_logs({{"loss", -0.0191}}));
  const std::regex line(R"(239/239 - \d+s - \d+(us|ms|s)/step - loss: -1\.9100e-02)");
  const auto lines = settled_lines(out.str());
  ASSERT_EQ(lines.size(), 4u) << out.str();
  EXPECT_EQ(lines[0], "Epoch 1/2");
  EXPECT_TRUE(std::regex_match(lines[1], line)) << lines[1];  // verbose 2 tests v > 1e-3, not |v|
  EXPECT_TRUE(std::regex_match(lines[3], line)) << lines[3];
}

TEST(ProgbarLoggerTest, VerbosityFollowsFitUnlessGiven) {
  std::ostringstream silent, loud;
  auto follows = make_logger(silent, {.epochs = 2, .steps = 3, .verbose = 0});
  run_epoch(follows, 0, 3, make_logs({{"loss", 1}}), make_logs({{"loss", 1}}));
  EXPECT_EQ(silent.str(), "");
  auto given = make_logger(loud, {.epochs = 2, .steps = 3, .verbose = 0}, 2);
  run_epoch(given, 0, 3, make_logs({{"loss", 1}}), make_logs({{"loss", 1}}));
  EXPECT_EQ(settled_lines(loud.str()).size(), 2u) << loud.str();
}

TEST(ProgbarLoggerTest, EvaluateInsideFitPrintsNothing) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 2, .verbose = 1});
  logger.on_train_begin(lvalue(Logs{}));
  logger.on_epoch_begin(0, lvalue(Logs{}));
  logger.on_train_batch_end(0, lvalue(make_logs({{"loss", 1}})));
  logger.on_train_batch_end(1, lvalue(make_logs({{"loss", 1}})));
  const std::string before = out.str();
  logger.on_test_begin(lvalue(Logs{}));
  logger.on_test_batch_end(0, lvalue(make_logs({{"loss", 2}})));
  logger.on_test_end(lvalue(make_logs({{"loss", 2}})));
  EXPECT_EQ(out.str(), before);
}

TEST(ProgbarLoggerTest, EvaluateShowsBarAndFinalLogs) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 313, .verbose = 1});
  logger.on_test_begin(lvalue(Logs{}));
  for (int b = 0; b < 313; ++b) logger.on_test_batch_end(b, lvalue(make_logs({{"loss", 0.3}})));
  logger.on_test_end(lvalue(make_logs({{"loss", 0.25}, {"accuracy", 0.5}})));
  const auto lines = settled_lines(out.str());
  ASSERT_EQ(lines.size(), 1u) << out.str();
  EXPECT_TRUE(std::regex_match(lines[0], std::regex("313/313 " + bars(20) +
                                                    R"( \d+s \d+(us|ms|s)/step - accuracy: 0\.5000 - loss: 0\.2500 *)")))
      << lines[0];
}

TEST(ProgbarLoggerTest, PredictShowsBarWithoutMetrics) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 4, .verbose = 1});
  logger.on_predict_begin(lvalue(Logs{}));
  for (int b = 0; b < 4; ++b) logger.on_predict_batch_end(b, lvalue(Logs{}));
  logger.on_predict_end(lvalue(Logs{}));
  const auto lines = settled_lines(out.str());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex("4/4 " + bars(20) + R"( \d+s \d+(us|ms|s)/step *)"))) << lines[0];
}

TEST(ProgbarLoggerTest, UnknownStepsShowCountOnlyThenTheBar) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 0, .verbose = 1});
  logger.on_epoch_begin(0, lvalue(Logs{}));
  logger.on_train_batch_end(0, lvalue(make_logs({{"loss", 1}})));
  EXPECT_TRUE(std::regex_match(out.str(), std::regex(R"(\r      1/Unknown \d+s \d+(us|ms|s)/step - loss: 1\.0000)")))
      << out.str();
  logger.on_train_batch_end(1, lvalue(make_logs({{"loss", 1}})));
  logger.on_epoch_end(0, lvalue(make_logs({{"loss", 1}})));
  const auto lines = settled_lines(out.str());
  EXPECT_EQ(lines.back().rfind("2/2 " + bars(20), 0), 0u) << lines.back();  // the length is known at the end
}

TEST(ProgbarLoggerTest, NonDynamicDisplayStartsEachUpdateOnANewLine) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 2, .verbose = 1});
  logger.set_dynamic_display(false);
  run_epoch(logger, 0, 2, make_logs({{"loss", 1}}), make_logs({{"loss", 1}}));
  const std::string text = out.str();
  EXPECT_EQ(text.find('\r'), std::string::npos);
  EXPECT_EQ(text.front(), '\n');
  EXPECT_EQ(text.back(), '\n');
}

TEST(ProgbarLoggerTest, NoColorsOnAStringStream) {
  std::ostringstream out;
  auto logger = make_logger(out, {.epochs = 1, .steps = 2, .verbose = 1});
  run_epoch(logger, 0, 2, make_logs({{"loss", 1}}), make_logs({{"loss", 1}}));
  EXPECT_EQ(out.str().find('\x1b'), std::string::npos) << out.str();
}

}  // namespace
}  // namespace kerosene
