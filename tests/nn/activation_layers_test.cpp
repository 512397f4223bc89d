// Keras' activation layers with their own parameters: ReLU(max_value, negative_slope,
// threshold), LeakyReLU(negative_slope) and Softmax(axis). Forward against Keras' formulas
// written here in double, backward against finite differences, and the values Keras refuses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "kerosene/error.h"
#include "kerosene/layers.h"
#include "nn/gradient_check.h"
#include "nn/layer.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

/// n values in [-2, 2) at least 0.05 from each kink, so a perturbation of the checks stays on
/// one side.
std::vector<float> away_from(const std::vector<float>& kinks, int64_t n, uint64_t seed) {
  std::vector<float> v = uniform_values(n, seed, -2.0f, 2.0f);
  for (float& x : v) {
    for (float k : kinks) {
      if (std::fabs(x - k) < 0.05f) x = k + (x < k ? -0.06f : 0.06f);
    }
  }
  return v;
}

/// keras.activations.relu, as its docstring states it.
float keras_relu(float x, const layers::ReLUOptions& o) {
  double y = x > o.threshold ? x : 0.0;
  if (o.max_value) y = std::min(std::max(y, 0.0), static_cast<double>(*o.max_value));
  return static_cast<float>(y - o.negative_slope * std::max(static_cast<double>(o.threshold) - x, 0.0));
}

struct ReLUCase {
  std::string name;
  layers::ReLUOptions options;
};

void PrintTo(const ReLUCase& c, std::ostream* os) { *os << c.name; }

class ReLUGradientTest : public testing::TestWithParam<ReLUCase> {};

TEST_P(ReLUGradientTest, MatchesKerasFormulaAndFiniteDifferences) {
  const layers::ReLUOptions& o = GetParam().options;
  LayerPtr layer = build_layer(layers::ReLU(o), {3, 4});
  EXPECT_EQ(layer->class_name(), "ReLU");
  std::vector<float> kinks{0.0f, o.threshold};
  if (o.max_value) kinks.push_back(*o.max_value);
  const std::vector<float> xv = away_from(kinks, 24, 7);
  const Tensor x = make_tensor(xv, {2, 3, 4});
  std::vector<float> expected;
  for (float v : xv) expected.push_back(keras_relu(v, o));
  expect_close(layer->forward(x, false), expected, 1e-6, 1e-6, GetParam().name + " forward");
  check_gradients(layer, x, with_eps(1e-3f));
}

INSTANTIATE_TEST_SUITE_P(
    Options, ReLUGradientTest,
    testing::Values(ReLUCase{"defaults", {}}, ReLUCase{"max_value_6", {.max_value = 6.0f}},
                    ReLUCase{"max_value_1", {.max_value = 1.0f}},
                    ReLUCase{"slope_max_threshold", {.max_value = 1.5f, .negative_slope = 0.1f, .threshold = 0.5f}},
                    ReLUCase{"slope_threshold", {.negative_slope = 0.2f, .threshold = 0.3f}},
                    ReLUCase{"max_below_threshold", {.max_value = 0.25f, .threshold = 0.75f}}),
    [](const testing::TestParamInfo<ReLUCase>& info) { return info.param.name; });

TEST(LeakyReLUGradientTest, DefaultSlopeIsTheLayersNotTheFunctions) {
  for (const float slope : {0.3f, 0.01f, 0.0f}) {
    LayerPtr layer = build_layer(slope == 0.3f ? layers::LeakyReLU() : layers::LeakyReLU(slope), {5});
    EXPECT_EQ(layer->class_name(), "LeakyReLU");
    const std::vector<float> xv = away_from({0.0f}, 15, 8);
    std::vector<float> expected;
    for (float v : xv) expected.push_back(v > 0 ? v : slope * v);
    const Tensor x = make_tensor(xv, {3, 5});
    expect_close(layer->forward(x, false), expected, 0, 1e-6, "LeakyReLU(" + std::to_string(slope) + ")");
    check_gradients(layer, x, with_eps(1e-3f));
  }
}

TEST(ActivationLayersTest, KerasDefaultNames) {
  EXPECT_EQ(layers::ReLU().name().rfind("re_lu", 0), 0u);
  EXPECT_EQ(layers::LeakyReLU().name().rfind("leaky_re_lu", 0), 0u);
  EXPECT_EQ(layers::Softmax().name().rfind("softmax", 0), 0u);
  EXPECT_EQ(layers::ReLU({.name = "mine"}).name(), "mine");
}

TEST(ActivationLayersTest, NegativeParametersAreRefusedAsKerasRefusesThem) {
  EXPECT_THROW(layers::ReLU({.max_value = -1.0f}), ValueError);
  EXPECT_THROW(layers::ReLU({.negative_slope = -0.1f}), ValueError);
  EXPECT_THROW(layers::ReLU({.threshold = -0.5f}), ValueError);
  EXPECT_THROW(layers::LeakyReLU(-0.3f), ValueError);
  try {
    layers::LeakyReLU(-0.3f, "leaky");
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("negative_slope"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("\"leaky\""), std::string::npos) << e.what();
  }
}

TEST(SoftmaxGradientTest, AlongTheLastAxisIsTheActivation) {
  LayerPtr layer = build_layer(layers::Softmax(), {2, 5});
  LayerPtr named = build_layer(layers::Activation("softmax"), {2, 5});
  const Tensor x = make_tensor(uniform_values(30, 9, -2.0f, 2.0f), {3, 2, 5});
  expect_close(layer->forward(x, false), values_of(named->forward(x, false)), 0, 0, "Softmax() vs softmax");
  EXPECT_EQ(layer->activation(), backends::ActivationKind::softmax);  // fuses into the loss
  check_gradients(layer, x);
}

TEST(SoftmaxGradientTest, AlongAnInnerAxis) {
  // Per sample (3, 4); axis 1 normalizes each column of 3.
  for (const int axis : {1, -2}) {
    LayerPtr layer = build_layer(layers::Softmax(axis), {3, 4});
    const std::vector<float> xv = uniform_values(24, 10, -2.0f, 2.0f);
    std::vector<float> expected(24);
    for (int b = 0; b < 2; ++b) {
      for (int c = 0; c < 4; ++c) {
        double s = 0;
        for (int r = 0; r < 3; ++r) s += std::exp(static_cast<double>(xv[b * 12 + r * 4 + c]));
        for (int r = 0; r < 3; ++r) expected[b * 12 + r * 4 + c] = static_cast<float>(std::exp(xv[b * 12 + r * 4 + c]) / s);
      }
    }
    const Tensor x = make_tensor(xv, {2, 3, 4});
    expect_close(layer->forward(x, false), expected, 1e-7, 1e-6, "Softmax(" + std::to_string(axis) + ")");
    // A crossentropy loss normalizes the last axis: this softmax must not be fused into it.
    EXPECT_EQ(layer->activation(), backends::ActivationKind::linear);
    check_gradients(layer, x);
  }
  // On a rank-2 batch, axis 1 is the last one.
  EXPECT_EQ(build_layer(layers::Softmax(1), {4})->activation(), backends::ActivationKind::softmax);
}

TEST(SoftmaxGradientTest, AnAxisOutsideTheInputIsRefusedWhenBuilt) {
  EXPECT_THROW(build_layer(layers::Softmax(3), {3, 4}), ValueError);
  EXPECT_THROW(build_layer(layers::Softmax(-4), {3, 4}), ValueError);
}

}  // namespace
}  // namespace kerosene::test
