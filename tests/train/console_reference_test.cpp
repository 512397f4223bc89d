// kerosene's console output against Keras 3's own (tests/reference/console, written by
// scripts/make_console_reference.py), byte for byte where it is deterministic: the bar, the
// verbose=2 line, the epoch header, metric order and number formats, the summary tables. Only
// times differ from run to run: they are masked, and the formats of times are tested apart.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "kerosene/kerosene.h"
#include "train/console_format.h"
#include "train/summary_table.h"

namespace kerosene {
namespace {

std::string read_sample(const std::string& name) {
  std::ifstream in(std::string(KEROSENE_SOURCE_DIR) + "/tests/reference/console/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read tests/reference/console/" << name;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The final state of each line as a terminal shows it (what follows the last '\r', padding
// dropped), with times masked: "<T>" for "3s 1ms/step" (ANSI codes kept) and "12s - 3ms/step".
std::string settled(const std::string& raw) {
  std::string out;
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line);) {
    const size_t cr = line.rfind('\r');
    if (cr != std::string::npos) line = line.substr(cr + 1);
    line = std::regex_replace(line, std::regex(" +$"), "");
    out += line + "\n";
  }
  out = std::regex_replace(out, std::regex(R"(\d+(:\d\d)*s(\x1b\[0m)? \d+(s|ms|us)/step)"), "<T>$2 <T>/step");
  return std::regex_replace(out, std::regex(R"( - \d+s - \d+(s|ms|us)/step)"), " - <T> - <T>/step");
}

// Keras' sample model: Dense(1, zeros) on zeros, so that loss and accuracy are exact.
Sequential exact_model() {
  layers::DenseOptions dense;
  dense.kernel_initializer = "zeros";
  Sequential model({layers::Input({3}), layers::Dense(1, dense)});
  model.compile(optimizers::SGD(), "mse", {"accuracy"});
  return model;
}

struct Captured {
  std::ostringstream out;
  std::shared_ptr<callbacks::ProgbarLogger> bar;
  Captured() : bar(std::make_shared<callbacks::ProgbarLogger>(-1, &out)) { bar->set_colors(true); }
};

Tensor zeros(int64_t rows, int64_t cols) { return Tensor::zeros({rows, cols}); }

void expect_same(const std::string& sample, const std::string& ours) {
  EXPECT_EQ(settled(read_sample(sample)), settled(ours)) << sample << "\nkerosene wrote:\n" << ours;
}

TEST(ConsoleReference, FitVerbose1OneEpochHasNoHeader) {
  Captured c;
  exact_model().fit(zeros(40, 3), zeros(40, 1), {.batch_size = 10, .epochs = 1, .verbose = 1, .callbacks = {c.bar}});
  expect_same("fit_verbose1_1epoch.txt", c.out.str());
}

TEST(ConsoleReference, FitVerbose1TwoEpochsWithValidation) {
  Captured c;
  exact_model().fit(zeros(40, 3), zeros(40, 1),
                    {.batch_size = 10, .epochs = 2, .verbose = 1, .callbacks = {c.bar}, .validation_split = 0.25f});
  expect_same("fit_verbose1_2epochs_val.txt", c.out.str());
}

TEST(ConsoleReference, FitVerbose2) {
  Captured c;
  exact_model().fit(zeros(40, 3), zeros(40, 1),
                    {.batch_size = 10, .epochs = 2, .verbose = 2, .callbacks = {c.bar}, .validation_split = 0.25f});
  expect_same("fit_verbose2_2epochs_val.txt", c.out.str());
}

// fit then evaluate, as scripts/make_console_reference.py's piped samples run them.
std::string fit_then_evaluate(bool dynamic) {
  Captured c;
  c.bar->set_colors(false);  // the stream is no terminal: kerosene's default there
  c.bar->set_dynamic_display(dynamic);
  Sequential model = exact_model();
  model.fit(zeros(40, 3), zeros(40, 1),
            {.batch_size = 10, .epochs = 2, .verbose = 1, .callbacks = {c.bar}, .validation_split = 0.25f});
  model.evaluate(zeros(40, 3), zeros(40, 1), {.batch_size = 10, .verbose = 1, .callbacks = {c.bar}});
  return c.out.str();
}

std::string without_ansi(const std::string& text) { return std::regex_replace(text, std::regex("\x1b\\[\\d+m"), ""); }

// Keras run with stdout a file (`python train.py > log`): on Linux Progbar._dynamic_display is
// true whatever the stream ("posix" is always in sys.modules), so the log holds the same
// backspaces and '\r' as a terminal. kerosene writes the same to a stream that is no terminal,
// less the ANSI codes (kerosene colours only a terminal).
TEST(ConsoleReference, PipedStdoutRedrawsAsKerasOnLinux) {
  const std::string keras = read_sample("fit_verbose1_piped.txt");
  ASSERT_NE(keras.find("\b\r"), std::string::npos) << "Keras' piped sample does not redraw: regenerate it";
  const std::string ours = fit_then_evaluate(/*dynamic=*/true);
  EXPECT_NE(ours.find("\b\r"), std::string::npos) << ours;
  EXPECT_EQ(ours.find('\x1b'), std::string::npos) << ours;
  EXPECT_EQ(settled(without_ansi(keras)), settled(ours)) << ours;
}

// Progress lines with times masked, trailing padding dropped, and of each run of consecutive
// updates only the last (the ones before depend on how fast the steps ran).
std::string last_updates(const std::string& raw) {
  const std::regex progress(R"(^ *\d+/\d+ .*)");
  std::vector<std::string> lines;
  std::istringstream in(settled(raw));
  for (std::string line; std::getline(in, line);) {
    if (!lines.empty() && std::regex_match(line, progress) && std::regex_match(lines.back(), progress)) lines.pop_back();
    lines.push_back(line);
  }
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

// Keras' display when it is not dynamic (Progbar._dynamic_display false: not POSIX, not a
// terminal, not a notebook): no redraw; every drawn update starts with '\n' (so the first
// follows an empty line), the last of a bar ends with '\n', padding spaces as when dynamic.
TEST(ConsoleReference, NotDynamicStartsEachUpdateOnANewLine) {
  const std::string keras = without_ansi(read_sample("fit_verbose1_not_dynamic.txt"));
  const std::string ours = fit_then_evaluate(/*dynamic=*/false);
  EXPECT_EQ(ours.find_first_of("\b\r"), std::string::npos) << ours;
  EXPECT_EQ(ours.rfind("Epoch 1/2\n\n", 0), 0u) << ours;
  EXPECT_EQ(last_updates(keras), last_updates(ours)) << ours;
}

TEST(ConsoleReference, FitCountRightAligned) {
  Captured c;
  exact_model().fit(zeros(40, 3), zeros(40, 1), {.batch_size = 3, .epochs = 1, .verbose = 1, .callbacks = {c.bar}});
  // Keras' intermediate redraws depend on time; the settled last line does not.
  const std::string ours = settled(c.out.str()), keras = settled(read_sample("fit_verbose1_12steps.txt"));
  EXPECT_EQ(keras.substr(keras.rfind('\n', keras.size() - 2) + 1), ours.substr(ours.rfind('\n', ours.size() - 2) + 1));
}

TEST(ConsoleReference, EvaluateAndPredict) {
  Sequential model = exact_model();
  Captured e;
  model.evaluate(zeros(40, 3), zeros(40, 1), {.batch_size = 10, .verbose = 1, .callbacks = {e.bar}});
  const std::string keras = settled(read_sample("evaluate_verbose1.txt"));
  EXPECT_EQ(keras.substr(keras.rfind('\n', keras.size() - 2) + 1), settled(e.out.str())) << e.out.str();
  Captured p;
  model.predict(zeros(40, 3), {.batch_size = 10, .verbose = 1, .callbacks = {p.bar}});
  const std::string keras_predict = settled(read_sample("predict_verbose1.txt"));
  EXPECT_EQ(keras_predict.substr(keras_predict.rfind('\n', keras_predict.size() - 2) + 1), settled(p.out.str()));
}

TEST(ConsoleReference, ValuesAndTheirFormats) {
  // Keras' Progbar given b, a, c, d in that order: shown in that order (fit's logs arrive
  // sorted), %.4f above 1e-3 in magnitude, %.4e below; verbose 2 tests the value, not |value|.
  const std::vector<std::pair<std::string, double>> values = {
      {"b", 0.5}, {"a", 0.0001234}, {"c", -0.00005}, {"d", 1234.56789}};
  EXPECT_EQ(console::format_metrics(values, true), " - b: 0.5000 - a: 1.2340e-04 - c: -5.0000e-05 - d: 1234.5679");
  const std::string keras2 = read_sample("progbar_values_verbose2.txt");
  const std::vector<std::pair<std::string, double>> values2 = {{"b", 0.5}, {"a", 0.0001234}, {"c", -0.25}, {"d", 1234.56789}};
  EXPECT_EQ(settled(keras2), settled(console::epoch_line(5, 5, 0, 0, values2)));
  EXPECT_NE(read_sample("progbar_values.txt").find(console::format_metrics(values, true)), std::string::npos);
}

Sequential keras_sequential() {
  layers::Conv2DOptions conv;
  conv.activation = "relu";
  conv.name = "conv2d";
  layers::Pooling2DOptions pool;
  pool.name = "max_pooling2d";
  layers::BatchNormalizationOptions norm;
  norm.name = "batch_normalization";
  layers::DenseOptions dense;
  dense.activation = "softmax";
  dense.name = "dense";
  return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, 3, conv), layers::MaxPooling2D(2, pool),
                     layers::Flatten("flatten"), layers::BatchNormalization(norm), layers::Dense(10, dense)},
                    "sequential");
}

TEST(ConsoleReference, SummarySequential) {
  Sequential model = keras_sequential();
  EXPECT_EQ(read_sample("summary_sequential_76.txt"), model.summary_string(76));
  EXPECT_EQ(read_sample("summary_sequential_88.txt"), model.summary_string(88));
}

TEST(ConsoleReference, SummaryAfterFitCountsTheOptimizer) {
  Sequential model = keras_sequential();
  model.compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  model.fit(Tensor::zeros({4, 28, 28, 1}), Tensor::zeros({4}), {.verbose = 0});
  EXPECT_EQ(read_sample("summary_sequential_fitted_76.txt"), model.summary_string(76));
}

TEST(ConsoleReference, SummaryUnbuilt) {
  layers::DenseOptions a, b;
  a.name = "dense";
  b.name = "dense_1";
  Sequential model({layers::Dense(4, a), layers::Dense(2, b)}, "unbuilt");
  EXPECT_EQ(read_sample("summary_unbuilt_76.txt"), model.summary_string(76));
}

TEST(ConsoleReference, SummaryFunctional) {
  layers::DenseOptions d0, d1, d2;
  d0.name = "dense";
  d1.name = "dense_1";
  d2.name = "dense_2";
  {
    auto in = Input({784}, "input_layer");
    d0.activation = "relu";
    auto h = layers::Dense(64, d0)(in);
    Model chain(in, layers::Dense(10, d1)(h), "functional");
    EXPECT_EQ(read_sample("summary_functional_chain_76.txt"), chain.summary_string(76));
  }
  d0.activation = "linear";
  auto in = Input({16}, "input_layer");
  auto a = layers::Dense(8, d0)(in);
  auto b = layers::Dense(8, d1)(in);
  auto merged = layers::Concatenate(-1, "concatenate")(std::vector<KerasTensor>{a, b});
  Model branches(in, layers::Dense(1, d2)(merged), "functional");
  EXPECT_EQ(read_sample("summary_functional_branches_76.txt"), branches.summary_string(76));
  EXPECT_EQ(read_sample("summary_functional_branches_108.txt"), branches.summary_string(108));
}

TEST(ConsoleReference, SummaryWidthFollowsTheTerminalAsKeras) {
  // Keras: min(88, columns - 4), columns from $COLUMNS (or the terminal; 80 when there is none).
  Sequential model = keras_sequential();
  setenv("COLUMNS", "200", 1);
  EXPECT_EQ(read_sample("summary_sequential_88.txt"), model.summary_string());
  setenv("COLUMNS", "80", 1);
  EXPECT_EQ(read_sample("summary_sequential_76.txt"), model.summary_string());
  unsetenv("COLUMNS");
}

TEST(ConsoleFormat, TimesAsKerasFormatsThem) {
  EXPECT_EQ(console::format_step_time(0, "step"), " 0s/step");
  EXPECT_EQ(console::format_step_time(1.4, "step"), " 1s/step");
  EXPECT_EQ(console::format_step_time(0.0125, "step"), " 12ms/step");  // %.0f: half to even
  EXPECT_EQ(console::format_step_time(0.001, "step"), " 1ms/step");
  EXPECT_EQ(console::format_step_time(0.00008, "step"), " 80us/step");
  EXPECT_EQ(console::format_eta(7.9), "7s");
  EXPECT_EQ(console::format_eta(60), "60s");
  EXPECT_EQ(console::format_eta(65.5), "1:05");
  EXPECT_EQ(console::format_eta(3600), "60:00");
  EXPECT_EQ(console::format_eta(3665), "1:01:05");
  EXPECT_EQ(console::format_seconds(2.5), "2s");
  EXPECT_EQ(console::step_count(7, 1875), "   7/1875");
  EXPECT_EQ(console::step_count(10, 0), "     10/Unknown");
}

TEST(ConsoleFormat, SizesAndCounts) {
  EXPECT_EQ(console::with_thousands(54410), "54,410");
  EXPECT_EQ(console::with_thousands(999), "999");
  EXPECT_EQ(console::readable_size(0), "0.00 B");
  EXPECT_EQ(console::readable_size(1023), "1023.00 B");
  EXPECT_EQ(console::readable_size(217640), "212.54 KB");
  EXPECT_EQ(console::readable_size(3.5 * 1024 * 1024), "3.50 MB");
}

TEST(ConsoleFormat, ColumnWidthsAsRichLaysThemOut) {
  // Measured in Keras' output (keras-formats.md 5.3 and the samples), padding included.
  EXPECT_EQ(console::column_widths(88, {0.45, 0.80, 1.0}), (std::vector<int>{38, 29, 17}));
  EXPECT_EQ(console::column_widths(76, {0.45, 0.80, 1.0}), (std::vector<int>{33, 24, 15}));
  EXPECT_EQ(console::column_widths(108, {0.3, 0.56, 0.74, 1.0}), (std::vector<int>{31, 27, 17, 28}));
  EXPECT_EQ(console::column_widths(76, {0.3, 0.56, 0.74, 1.0}), (std::vector<int>{21, 19, 12, 19}));
}

}  // namespace
}  // namespace kerosene
