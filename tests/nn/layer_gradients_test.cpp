// Finite-difference gradient checks of every layer, w.r.t. its input and each of its variables,
// on the objective sum(output * R) with a fixed random R; plus each layer's forward pass against a
// naive loop implementation (test_util.h). Layers come from the public factories and are driven
// through nn::Layer (build, forward, backward).
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "kerosene/layers.h"
#include "nn/gradient_check.h"
#include "nn/layer.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

// --- Dense ---------------------------------------------------------------------------------------

struct DenseCase {
  std::string activation;
  bool use_bias;
  Shape input;  // one sample
};

std::string dense_name(const testing::TestParamInfo<DenseCase>& info) {
  return info.param.activation + (info.param.use_bias ? "_bias" : "_nobias") + "_rank" +
         std::to_string(info.param.input.rank());
}

void PrintTo(const DenseCase& c, std::ostream* os) { *os << c.activation << " on " << c.input.to_string(); }

class DenseGradientTest : public testing::TestWithParam<DenseCase> {};

TEST_P(DenseGradientTest, MatchesNaiveForwardAndFiniteDifferences) {
  const DenseCase& c = GetParam();
  constexpr int64_t kUnits = 4;
  auto make = [&](const std::string& act) {
    layers::DenseOptions options;
    options.activation = act;
    options.use_bias = c.use_bias;
    return build_layer(layers::Dense(kUnits, options), c.input);
  };
  LayerPtr layer = make(c.activation);
  randomize_variables(*layer, 11);
  ASSERT_EQ(layer->variables().size(), c.use_bias ? 2u : 1u);
  const Shape xs = c.input.with_batch(3);
  const float eps = kink_at_zero(c.activation) ? 1e-3f : 1e-2f;
  Tensor x = make_tensor(uniform_values(xs.numel(), 5), xs);
  if (kink_at_zero(c.activation)) {
    // Keep every pre-activation off the kink by more than a perturbation can move it.
    LayerPtr twin = make("linear");
    copy_variables(*layer, *twin);
    x = relu_safe_input(*twin, xs, 5, eps);
  }

  // Forward against the naive matmul (on the last axis, whatever the rank).
  std::vector<float> bias;
  if (c.use_bias) bias = values_of(layer->variables()[1].value);
  const int64_t in = c.input[-1];
  const auto expected = ref_dense(values_of(x), values_of(layer->variables()[0].value), c.use_bias ? &bias : nullptr,
                                  in, kUnits, c.activation);
  expect_close(layer->forward(x, false), expected, 1e-5, 1e-5, "Dense forward");

  check_gradients(layer, x, with_eps(eps));
}

INSTANTIATE_TEST_SUITE_P(
    Activations, DenseGradientTest,
    testing::Values(DenseCase{"linear", true, {5}}, DenseCase{"linear", false, {5}}, DenseCase{"relu", true, {5}},
                    DenseCase{"relu", false, {5}}, DenseCase{"sigmoid", true, {5}}, DenseCase{"sigmoid", false, {5}},
                    DenseCase{"tanh", true, {5}}, DenseCase{"tanh", false, {5}}, DenseCase{"softmax", true, {5}},
                    DenseCase{"softmax", false, {5}}, DenseCase{"linear", true, {2, 5}},
                    DenseCase{"softmax", true, {2, 5}}, DenseCase{"gelu", true, {5}}, DenseCase{"silu", true, {5}},
                    DenseCase{"swish", false, {2, 5}}, DenseCase{"elu", true, {5}}, DenseCase{"selu", true, {5}},
                    DenseCase{"leaky_relu", true, {5}}, DenseCase{"softplus", true, {5}},
                    DenseCase{"hard_sigmoid", true, {5}}),
    dense_name);

// --- Conv2D --------------------------------------------------------------------------------------

struct ConvCase {
  std::string name;
  Shape input;  // one sample, HWC
  int64_t filters;
  std::pair<int, int> kernel, strides;
  std::string padding, activation;
  bool use_bias;
};

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class Conv2DGradientTest : public testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DGradientTest, MatchesNaiveForwardAndFiniteDifferences) {
  const ConvCase& c = GetParam();
  auto make = [&](const std::string& act) {
    layers::Conv2DOptions options;
    options.strides = c.strides;
    options.padding = c.padding;
    options.activation = act;
    options.use_bias = c.use_bias;
    return build_layer(layers::Conv2D(c.filters, c.kernel, options), c.input);
  };
  LayerPtr layer = make(c.activation);
  randomize_variables(*layer, 21, 0.5f);
  const Shape xs = c.input.with_batch(2);
  const bool relu = c.activation == "relu";
  const float eps = relu ? 1e-3f : 1e-2f;
  Tensor x = make_tensor(uniform_values(xs.numel(), 6), xs);
  if (relu) {
    LayerPtr twin = make("linear");
    copy_variables(*layer, *twin);
    x = relu_safe_input(*twin, xs, 6, eps);
  }

  std::vector<float> bias;
  if (c.use_bias) bias = values_of(layer->variables()[1].value);
  const Tensor& kernel = layer->variables()[0].value;
  const auto expected = ref_conv2d(values_of(x), xs, values_of(kernel), kernel.shape(), c.use_bias ? &bias : nullptr,
                                   c.strides.first, c.strides.second, c.padding, c.activation);
  const Tensor& y = layer->forward(x, false);
  ASSERT_EQ(static_cast<size_t>(y.numel()), expected.size()) << "output shape " << y.shape().to_string();
  expect_close(y, expected, 1e-5, 1e-5, c.name + " forward");

  check_gradients(layer, x, with_eps(eps));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, Conv2DGradientTest,
    testing::Values(
        ConvCase{"valid_s1", {5, 5, 2}, 3, {3, 3}, {1, 1}, "valid", "linear", true},
        ConvCase{"same_s1", {4, 5, 3}, 2, {3, 3}, {1, 1}, "same", "linear", true},
        ConvCase{"same_s1_even_kernel", {4, 4, 2}, 2, {2, 2}, {1, 1}, "same", "linear", true},  // pad after only
        ConvCase{"same_s2_odd", {5, 6, 2}, 3, {3, 3}, {2, 2}, "same", "linear", true},
        ConvCase{"valid_s2_nobias", {6, 5, 2}, 2, {3, 2}, {2, 2}, "valid", "linear", false},
        ConvCase{"valid_s2x1", {6, 5, 3}, 2, {2, 3}, {2, 1}, "valid", "tanh", true},
        ConvCase{"same_s2_relu", {5, 5, 2}, 3, {3, 3}, {2, 2}, "same", "relu", true},
        ConvCase{"valid_s1_relu_nobias", {4, 4, 3}, 2, {2, 2}, {1, 1}, "valid", "relu", false},
        ConvCase{"same_s1_gelu", {4, 4, 2}, 3, {3, 3}, {1, 1}, "same", "gelu", true},
        ConvCase{"valid_s1_elu_nobias", {5, 4, 2}, 2, {2, 2}, {1, 1}, "valid", "elu", false}),
    [](const testing::TestParamInfo<ConvCase>& info) { return info.param.name; });

// --- Pooling -------------------------------------------------------------------------------------

struct PoolCase {
  std::string name;
  bool max;
  Shape input;
  std::pair<int, int> pool, strides;
  std::string padding;
  float offset;  // added to every input (all negative: a zero-padded max would show)
};

void PrintTo(const PoolCase& c, std::ostream* os) { *os << c.name; }

class PoolingGradientTest : public testing::TestWithParam<PoolCase> {};

TEST_P(PoolingGradientTest, MatchesNaiveForwardAndFiniteDifferences) {
  const PoolCase& c = GetParam();
  layers::Pooling2DOptions options;
  options.strides = c.strides;
  options.padding = c.padding;
  LayerPtr layer = build_layer(c.max ? layers::MaxPooling2D(c.pool, options) : layers::AveragePooling2D(c.pool, options),
                               c.input);
  EXPECT_TRUE(layer->variables().empty());
  const Shape xs = c.input.with_batch(2);
  // Distinct inputs 0.01 apart: no ties, so each window's maximum survives a 1e-3 perturbation.
  Tensor x = make_tensor(distinct_values(xs.numel(), 8, 0.01f, c.offset), xs);
  const auto expected =
      ref_pool2d(c.max, values_of(x), xs, c.pool.first, c.pool.second, c.strides.first, c.strides.second, c.padding);
  const Tensor& y = layer->forward(x, false);
  ASSERT_EQ(static_cast<size_t>(y.numel()), expected.size()) << "output shape " << y.shape().to_string();
  expect_close(y, expected, 1e-6, 1e-6, c.name + " forward");
  check_gradients(layer, x, with_eps(1e-3f));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, PoolingGradientTest,
    testing::Values(PoolCase{"max_valid_2x2_odd", true, {5, 5, 2}, {2, 2}, {2, 2}, "valid", 0.0f},
                    PoolCase{"max_valid_3x3_s1", true, {5, 4, 2}, {3, 3}, {1, 1}, "valid", 0.0f},
                    PoolCase{"max_valid_3x2_s2x1", true, {6, 5, 3}, {3, 2}, {2, 1}, "valid", 0.0f},
                    PoolCase{"max_same_2x2", true, {5, 5, 2}, {2, 2}, {2, 2}, "same", -3.0f},
                    PoolCase{"max_same_3x3_s2", true, {6, 5, 2}, {3, 3}, {2, 2}, "same", -3.0f},
                    PoolCase{"avg_valid_2x2_s1", false, {4, 5, 2}, {2, 2}, {1, 1}, "valid", 0.0f},
                    PoolCase{"avg_valid_3x3_s2", false, {7, 6, 2}, {3, 3}, {2, 2}, "valid", 0.0f},
                    PoolCase{"avg_same_2x2", false, {5, 5, 2}, {2, 2}, {2, 2}, "same", 0.5f},
                    PoolCase{"avg_same_3x3_s2", false, {6, 5, 3}, {3, 3}, {2, 2}, "same", 0.5f}),
    [](const testing::TestParamInfo<PoolCase>& info) { return info.param.name; });

// --- Flatten, Reshape ----------------------------------------------------------------------------

TEST(FlattenGradientTest, KeepsRowMajorOrderAndPassesGradients) {
  LayerPtr layer = build_layer(layers::Flatten(), {3, 2, 2});
  EXPECT_EQ(layer->output_shape(), Shape({12}));
  Tensor x = make_tensor(uniform_values(24, 3), {2, 3, 2, 2});
  const Tensor& y = layer->forward(x, false);
  EXPECT_EQ(y.shape(), Shape({2, 12}));
  expect_close(y, values_of(x), 0, 0, "Flatten forward");
  check_gradients(layer, x);
}

TEST(ReshapeGradientTest, InfersMinusOneAndPassesGradients) {
  LayerPtr layer = build_layer(layers::Reshape({4, -1}), {3, 2, 2});
  EXPECT_EQ(layer->output_shape(), Shape({4, 3}));
  Tensor x = make_tensor(uniform_values(24, 4), {2, 3, 2, 2});
  const Tensor& y = layer->forward(x, false);
  EXPECT_EQ(y.shape(), Shape({2, 4, 3}));
  expect_close(y, values_of(x), 0, 0, "Reshape forward");
  check_gradients(layer, x);
}

// --- Dropout -------------------------------------------------------------------------------------

TEST(DropoutGradientTest, TrainingScalesKeptInputsAndGradientsByTheSameMask) {
  constexpr float kRate = 0.4f;
  constexpr uint64_t kSeed = 1234;
  auto make = [&] { return build_layer(layers::Dropout(kRate, kSeed), {10}); };
  LayerPtr layer = make();
  Tensor x = make_tensor(uniform_away_from_zero(80, 9, 0.05f), {8, 10});
  const std::vector<float> xv = values_of(x);
  const std::vector<float> y = values_of(layer->forward(x, /*training=*/true));
  int dropped = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (y[i] == 0.0f) {
      ++dropped;
    } else {
      EXPECT_NEAR(y[i], xv[i] / (1.0f - kRate), 1e-6) << "element " << i << " kept but not scaled by 1/(1-rate)";
    }
  }
  EXPECT_GT(dropped, 16) << "rate 0.4 of 80 should drop about 32";
  EXPECT_LT(dropped, 48) << "rate 0.4 of 80 should drop about 32";

  // The gradient is dy times the same mask: dropped positions get none, kept ones 1/(1-rate).
  const std::vector<float> r = uniform_values(80, 10);
  const std::vector<float> dx = values_of(layer->backward(make_tensor(r, {8, 10}), true));
  for (size_t i = 0; i < dx.size(); ++i) {
    EXPECT_FLOAT_EQ(dx[i], y[i] == 0.0f ? 0.0f : r[i] / (1.0f - kRate)) << "element " << i;
  }
  // A fresh layer with the same seed draws the same first mask, so the finite differences see
  // one fixed function.
  CheckOptions options = in_training(true);
  options.r_seed = 10;
  options.fresh = make;
  check_gradients(make(), x, options);
}

TEST(DropoutGradientTest, EachTrainingStepDrawsANewMask) {
  LayerPtr layer = build_layer(layers::Dropout(0.5f, 77), {64});
  Tensor x = Tensor::full({1, 64}, 1.0f);
  const std::vector<float> first = values_of(layer->forward(x, true));
  const std::vector<float> second = values_of(layer->forward(x, true));
  EXPECT_NE(first, second);
  // ... and the same seed replays the same sequence of masks.
  LayerPtr replay = build_layer(layers::Dropout(0.5f, 77), {64});
  EXPECT_EQ(values_of(replay->forward(x, true)), first);
  EXPECT_EQ(values_of(replay->forward(x, true)), second);
}

TEST(DropoutGradientTest, InferenceIsTheIdentity) {
  LayerPtr layer = build_layer(layers::Dropout(0.4f, 5), {3, 4});
  Tensor x = make_tensor(uniform_values(24, 12), {2, 3, 4});
  expect_close(layer->forward(x, /*training=*/false), values_of(x), 0, 0, "Dropout inference forward");
  const std::vector<float> r = uniform_values(24, 13);
  expect_close(layer->backward(make_tensor(r, {2, 3, 4}), true), r, 0, 0, "Dropout inference backward");
  check_gradients(layer, x, in_training(false));
}

TEST(DropoutGradientTest, RateZeroTrainingIsTheIdentity) {
  LayerPtr layer = build_layer(layers::Dropout(0.0f, 5), {6});
  Tensor x = make_tensor(uniform_values(12, 14), {2, 6});
  expect_close(layer->forward(x, true), values_of(x), 0, 0, "Dropout(0) forward");
  check_gradients(layer, x, in_training(true));
}

// --- BatchNormalization, LayerNormalization ------------------------------------------------------

struct NormCase {
  std::string name;
  bool batch_norm;  // else LayerNormalization
  Shape input;      // one sample
  bool center, scale, training;
};

void PrintTo(const NormCase& c, std::ostream* os) { *os << c.name; }

class NormalizationGradientTest : public testing::TestWithParam<NormCase> {};

TEST_P(NormalizationGradientTest, MatchesNaiveForwardAndFiniteDifferences) {
  const NormCase& c = GetParam();
  constexpr double kEpsilon = 1e-3;
  LayerPtr layer =
      c.batch_norm
          ? build_layer(layers::BatchNormalization({.momentum = 0.9, .center = c.center, .scale = c.scale}), c.input)
          : build_layer(layers::LayerNormalization({.center = c.center, .scale = c.scale}), c.input);
  randomize_variables(*layer, 31);
  auto& vars = layer->variables();
  const int64_t cols = c.input[-1];
  std::pair<std::vector<float>, std::vector<float>> moving;
  if (c.batch_norm) {
    // Moving statistics a variance can have (positive), and named as Keras names them.
    ASSERT_EQ(vars.size(), 2u + c.center + c.scale);
    nn::Variable& mean = vars[vars.size() - 2];
    nn::Variable& variance = vars.back();
    EXPECT_EQ(mean.name, "moving_mean");
    EXPECT_EQ(variance.name, "moving_variance");
    EXPECT_FALSE(mean.trainable || variance.trainable);
    const auto positive = uniform_values(cols, 32, 0.5f, 1.5f);
    std::copy(positive.begin(), positive.end(), variance.value.data<float>());
    moving = {values_of(mean.value), positive};
  }
  std::vector<float> gamma, beta;
  if (c.scale) gamma = values_of(vars[0].value);
  if (c.center) beta = values_of(vars[c.scale ? 1 : 0].value);
  const Shape xs = c.input.with_batch(4);
  const Tensor x = make_tensor(uniform_values(xs.numel(), 33), xs);

  const auto expected =
      c.batch_norm ? ref_batch_norm(values_of(x), cols, c.scale ? &gamma : nullptr, c.center ? &beta : nullptr,
                                    kEpsilon, c.training ? nullptr : &moving)
                   : ref_layer_norm(values_of(x), cols, c.scale ? &gamma : nullptr, c.center ? &beta : nullptr, kEpsilon);
  expect_close(layer->forward(x, c.training), expected, 1e-5, 1e-5, c.name + " forward");

  check_gradients(layer, x, [&] {
    CheckOptions o = in_training(c.training);
    o.eps = 3e-3f;
    return o;
  }());
}

INSTANTIATE_TEST_SUITE_P(
    Layers, NormalizationGradientTest,
    testing::Values(NormCase{"batch_norm_training", true, {3}, true, true, true},
                    NormCase{"batch_norm_inference", true, {3}, true, true, false},
                    NormCase{"batch_norm_rank4_training", true, {2, 2, 3}, true, true, true},
                    NormCase{"batch_norm_rank4_inference", true, {2, 2, 3}, true, true, false},
                    NormCase{"batch_norm_plain_training", true, {2, 4}, false, false, true},
                    NormCase{"batch_norm_scale_only_training", true, {5}, false, true, true},
                    NormCase{"batch_norm_center_only_inference", true, {5}, true, false, false},
                    NormCase{"layer_norm", false, {6}, true, true, true},
                    NormCase{"layer_norm_rank3", false, {2, 5}, true, true, false},
                    NormCase{"layer_norm_no_center", false, {4}, false, true, true},
                    NormCase{"layer_norm_no_scale", false, {2, 4}, true, false, false}),
    [](const testing::TestParamInfo<NormCase>& info) { return info.param.name; });

// --- Activation ----------------------------------------------------------------------------------

class ActivationGradientTest : public testing::TestWithParam<std::string> {};

TEST_P(ActivationGradientTest, MatchesNaiveForwardAndFiniteDifferences) {
  const std::string act = GetParam();
  LayerPtr layer = build_layer(layers::Activation(act), {2, 5});
  Tensor x = make_tensor(uniform_away_from_zero(30, 15, 0.05f, -2.0f, 2.0f), {3, 2, 5});
  std::vector<float> expected = values_of(x);
  ref_activation(act, expected, 5);
  expect_close(layer->forward(x, false), expected, 1e-6, 1e-5, act + " forward");
  // The layer must not have overwritten its input (relu runs out of place).
  expect_close(x, uniform_away_from_zero(30, 15, 0.05f, -2.0f, 2.0f), 0, 0, act + " input untouched");
  check_gradients(layer, x, with_eps(kink_at_zero(act) ? 1e-3f : 1e-2f));
}

INSTANTIATE_TEST_SUITE_P(Kinds, ActivationGradientTest,
                         testing::Values("linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "swish", "elu",
                                         "selu", "leaky_relu", "softplus", "hard_sigmoid"),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace kerosene::test
