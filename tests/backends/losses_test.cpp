// The CPU backend's losses: every LossKind x from_logits against finite differences of the
// mean loss, and the fused path training uses (softmax/sigmoid last layer folded into the loss)
// against the unfused one (loss on the probabilities, then backward through the activation).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "kerosene/layers.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"
#include "nn/layer.h"
#include "test_util.h"
#include "train/model_state.h"

namespace kerosene::test {
namespace {

using backends::LossArgs;
using backends::LossKind;

backends::Backend& cpu() { return backends::backend_for(DeviceType::CPU); }

/// Mean over the batch of the per-sample losses, in double.
double mean_loss(LossKind kind, bool from_logits, const Tensor& pred, const Tensor& truth) {
  const int64_t batch = pred.dim(0);
  Tensor sample = Tensor::empty({batch});
  cpu().loss({kind, from_logits, 1.0f}, pred, truth, sample, nullptr);
  double s = 0;
  for (float v : values_of(sample)) s += v;
  return s / static_cast<double>(batch);
}

struct LossResult {
  std::vector<float> sample_loss, grad;
};

/// Per-sample losses and d(mean loss)/d(pred) (grad_scale 1/batch, as training passes).
LossResult loss_and_grad(LossKind kind, bool from_logits, const Tensor& pred, const Tensor& truth) {
  const int64_t batch = pred.dim(0);
  Tensor sample = Tensor::empty({batch});
  Tensor grad = Tensor::empty(pred.shape());
  cpu().loss({kind, from_logits, 1.0f / static_cast<float>(batch)}, pred, truth, sample, &grad);
  return {values_of(sample), values_of(grad)};
}

std::vector<float> softmax_rows(std::vector<float> v, int64_t cols) {
  ref_activation("softmax", v, cols);
  return v;
}

// Data only: tensors are made inside the tests (the runtime must not start while tests are
// registered: the configuration tests need it fresh).
struct LossCase {
  std::string name;
  LossKind kind;
  bool from_logits;
  std::vector<float> pred, truth;  // truth: class indices for the sparse loss
  float eps;
};

void PrintTo(const LossCase& c, std::ostream* os) { *os << c.name; }

constexpr int64_t kBatch = 4, kClasses = 5;

Tensor pred_of(const LossCase& c) { return make_tensor(c.pred, {kBatch, kClasses}); }

Tensor truth_of(const LossCase& c) {
  if (c.kind != LossKind::sparse_categorical_crossentropy) return make_tensor(c.truth, {kBatch, kClasses});
  std::vector<int32_t> labels(c.truth.begin(), c.truth.end());
  return Tensor::from_vector(labels, {kBatch});
}

std::vector<LossCase> loss_cases() {
  const int64_t n = kBatch * kClasses;
  const std::vector<float> labels{0, 3, 1, 4};
  std::vector<float> onehot(n, 0.0f);
  for (int64_t r = 0; r < kBatch; ++r) onehot[r * kClasses + static_cast<int64_t>(labels[r])] = 1.0f;
  // Soft targets whose rows do not sum to 1: exercises the sum(t) factor of the gradients.
  const auto soft = uniform_values(n, 31, 0.0f, 1.0f);
  const auto logits = uniform_values(n, 32, -2.0f, 2.0f);
  const auto probs = softmax_rows(uniform_values(n, 33), kClasses);
  // Positive but not normalized: Keras divides by the row sum first.
  const auto unnormalized = uniform_values(n, 34, 0.1f, 1.0f);
  const auto binary_probs = uniform_values(n, 35, 0.05f, 0.95f);
  const auto binary_targets = uniform_values(n, 36, 0.0f, 1.0f);
  std::vector<float> hard(n);
  for (int64_t i = 0; i < n; ++i) hard[i] = static_cast<float>(i % 3 == 0);
  const auto regression = uniform_values(n, 37, -2.0f, 2.0f);
  std::vector<float> half = regression;
  for (auto& v : half) v *= 0.5f;
  const auto sparse = LossKind::sparse_categorical_crossentropy, categorical = LossKind::categorical_crossentropy,
             binary = LossKind::binary_crossentropy, mse = LossKind::mean_squared_error;
  return {
      {"sparse_logits", sparse, true, logits, labels, 1e-2f},
      {"sparse_probs", sparse, false, probs, labels, 1e-3f},
      {"sparse_unnormalized_probs", sparse, false, unnormalized, labels, 1e-3f},
      {"categorical_logits_onehot", categorical, true, logits, onehot, 1e-2f},
      {"categorical_logits_soft", categorical, true, logits, soft, 1e-2f},
      {"categorical_probs_onehot", categorical, false, probs, onehot, 1e-3f},
      {"categorical_unnormalized_probs_soft", categorical, false, unnormalized, soft, 1e-3f},
      {"binary_probs_soft", binary, false, binary_probs, binary_targets, 1e-3f},
      {"binary_probs_hard", binary, false, binary_probs, hard, 1e-3f},
      {"binary_logits_soft", binary, true, logits, binary_targets, 1e-2f},
      {"binary_logits_hard", binary, true, logits, hard, 1e-2f},
      {"mse", mse, false, regression, half, 1e-2f},
  };
}

class LossGradientTest : public testing::TestWithParam<LossCase> {};

TEST_P(LossGradientTest, GradientMatchesFiniteDifferencesOfTheMeanLoss) {
  const LossCase& c = GetParam();
  Tensor pred = pred_of(c);
  const Tensor truth = truth_of(c);
  const LossResult r = loss_and_grad(c.kind, c.from_logits, pred, truth);
  for (float v : r.sample_loss) EXPECT_TRUE(std::isfinite(v));
  const auto numeric = numeric_gradient(pred.data<float>(), pred.numel(), c.eps,
                                        [&] { return mean_loss(c.kind, c.from_logits, pred, truth); });
  expect_close(r.grad, numeric, 2e-4, kGradRtol, c.name + ": d(mean loss)/d(y_pred)");
}

TEST_P(LossGradientTest, SampleLossesDoNotDependOnWhetherAGradientIsWanted) {
  const LossCase& c = GetParam();
  const Tensor pred = pred_of(c), truth = truth_of(c);
  const LossResult r = loss_and_grad(c.kind, c.from_logits, pred, truth);
  Tensor sample = Tensor::empty({kBatch});
  cpu().loss({c.kind, c.from_logits, 1.0f}, pred, truth, sample, nullptr);
  expect_close(sample, r.sample_loss, 0, 1e-6, c.name + ": sample losses without a gradient");
}

TEST_P(LossGradientTest, GradScaleMultipliesTheGradient) {
  const LossCase& c = GetParam();
  const Tensor pred = pred_of(c), truth = truth_of(c);
  Tensor sample = Tensor::empty({kBatch});
  Tensor g1 = Tensor::empty(pred.shape()), g3 = Tensor::empty(pred.shape());
  cpu().loss({c.kind, c.from_logits, 1.0f}, pred, truth, sample, &g1);
  cpu().loss({c.kind, c.from_logits, 3.0f}, pred, truth, sample, &g3);
  std::vector<float> expected = values_of(g1);
  for (auto& v : expected) v *= 3.0f;
  expect_close(g3, expected, 1e-6, 1e-6, c.name + ": grad_scale 3");
}

INSTANTIATE_TEST_SUITE_P(AllLosses, LossGradientTest, testing::ValuesIn(loss_cases()),
                         [](const testing::TestParamInfo<LossCase>& info) { return info.param.name; });

TEST(LossValueTest, KnownValues) {
  // Hand-computed: uniform logits give log(C); a perfect probability gives 0 after clipping
  // (-log(1 - 1e-7) ~ 1.2e-7); MSE of a constant difference d is d^2.
  const Tensor zeros = Tensor::zeros({2, 4});
  const Tensor labels = Tensor::from_vector(std::vector<int32_t>{1, 3}, {2});
  EXPECT_NEAR(mean_loss(LossKind::sparse_categorical_crossentropy, true, zeros, labels), std::log(4.0), 1e-6);
  const Tensor certain = make_tensor({0, 1, 0, 0, 0, 0, 0, 1}, {2, 4});
  EXPECT_NEAR(mean_loss(LossKind::sparse_categorical_crossentropy, false, certain, labels), 0.0, 1e-6);
  EXPECT_NEAR(mean_loss(LossKind::categorical_crossentropy, false, certain, certain), 0.0, 1e-6);
  // A zero probability on the true class is clipped to 1e-7: the loss is -log(1e-7), finite.
  const Tensor wrong = make_tensor({1, 0, 0, 0, 1, 0, 0, 0}, {2, 4});
  EXPECT_NEAR(mean_loss(LossKind::sparse_categorical_crossentropy, false, wrong, labels), -std::log(1e-7), 1e-3);
  // Binary: the 1 where the target is 0 is clipped to float32(1 - 1e-7), whose complement is
  // 2^-23, not 1e-7.
  const double one_minus_clipped = 1.0 - static_cast<double>(1.0f - 1e-7f);
  EXPECT_NEAR(mean_loss(LossKind::binary_crossentropy, false, wrong, certain),
              (-std::log(static_cast<double>(1e-7f)) - std::log(one_minus_clipped)) / 4, 1e-4);
  EXPECT_NEAR(mean_loss(LossKind::mean_squared_error, false, zeros, Tensor::full({2, 4}, 0.5f)), 0.25, 1e-7);
  // Binary cross-entropy from logits of +-100 is exact and finite.
  const Tensor big = make_tensor({100, -100, 100, -100}, {1, 4});
  const Tensor t = make_tensor({1, 0, 0, 1}, {1, 4});
  EXPECT_NEAR(mean_loss(LossKind::binary_crossentropy, true, big, t), 50.0, 1e-4);
  // ... and so is categorical cross-entropy from extreme logits.
  const Tensor extreme = make_tensor({100, -100, 0, 0}, {1, 4});
  const Tensor first = Tensor::from_vector(std::vector<int32_t>{1}, {1});
  EXPECT_NEAR(mean_loss(LossKind::sparse_categorical_crossentropy, true, extreme, first), 200.0, 1e-3);
}

// --- fused activation + loss ------------------------------------------------------------------

struct FusedCase {
  std::string name, activation;
  LossKind kind;
};

void PrintTo(const FusedCase& c, std::ostream* os) { *os << c.name; }

class FusedLossTest : public testing::TestWithParam<FusedCase> {};

// The gradient training uses (loss from the last layer's logits, then backward_from_logits)
// equals the unfused chain rule (loss on the layer's probabilities, then backward through the
// activation), for the layer's input and its variables.
TEST_P(FusedLossTest, FusedGradientEqualsUnfused) {
  const FusedCase& c = GetParam();
  constexpr int64_t kIn = 3, kOut = 4, kRows = 5;
  layers::DenseOptions options;
  options.activation = c.activation;
  auto layer = build_layer(layers::Dense(kOut, options), {kIn});
  randomize_variables(*layer, 41);
  const Tensor x = make_tensor(uniform_values(kRows * kIn, 42, -1.5f, 1.5f), {kRows, kIn});
  Tensor truth;
  if (c.kind == LossKind::sparse_categorical_crossentropy) {
    truth = Tensor::from_vector(std::vector<int32_t>{2, 0, 3, 1, 2}, {kRows});
  } else if (c.kind == LossKind::categorical_crossentropy) {
    truth = make_tensor(softmax_rows(uniform_values(kRows * kOut, 43, -2.0f, 2.0f), kOut), {kRows, kOut});
  } else {
    truth = make_tensor(uniform_values(kRows * kOut, 44, 0.0f, 1.0f), {kRows, kOut});
  }

  // Unfused: probabilities -> loss -> backward through the activation.
  const Tensor probs = layer->forward(x, true).clone();
  const LossResult unfused = loss_and_grad(c.kind, false, probs, truth);
  const std::vector<float> dx_unfused = values_of(layer->backward(make_tensor(unfused.grad, probs.shape()), true));
  std::vector<std::vector<float>> dvars_unfused;
  for (auto& v : layer->variables()) dvars_unfused.push_back(values_of(v.grad));

  // Fused: logits -> loss from logits -> backward_from_logits.
  layer->forward(x, true);
  ASSERT_EQ(layer->activation(), c.activation == "softmax" ? backends::ActivationKind::softmax
                                                             : backends::ActivationKind::sigmoid);
  const Tensor logits = layer->logits().clone();
  const LossResult fused = loss_and_grad(c.kind, true, logits, truth);
  const std::vector<float> dx_fused =
      values_of(layer->backward_from_logits(make_tensor(fused.grad, logits.shape()), true));

  expect_close(fused.sample_loss, unfused.sample_loss, 1e-6, 1e-5, c.name + ": sample losses");
  expect_close(dx_fused, dx_unfused, 1e-6, 1e-4, c.name + ": d/d(input)");
  for (size_t i = 0; i < dvars_unfused.size(); ++i) {
    expect_close(layer->variables()[i].grad, dvars_unfused[i], 1e-6, 1e-4,
                 c.name + ": d/d(" + layer->variables()[i].name + ")");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, FusedLossTest,
    testing::Values(FusedCase{"softmax_sparse", "softmax", LossKind::sparse_categorical_crossentropy},
                    FusedCase{"softmax_categorical", "softmax", LossKind::categorical_crossentropy},
                    FusedCase{"sigmoid_binary", "sigmoid", LossKind::binary_crossentropy}),
    [](const testing::TestParamInfo<FusedCase>& info) { return info.param.name; });

// ModelState folds exactly these activation/loss pairs into the loss (as TensorFlow's Keras
// does through _keras_logits) and no others.
TEST(FusedLossTest, ModelStateFusesSoftmaxAndSigmoidWithTheirCrossentropies) {
  struct Expectation {
    std::string activation, loss;
    bool fused;
  };
  const std::vector<Expectation> cases = {
      {"softmax", "sparse_categorical_crossentropy", true}, {"softmax", "categorical_crossentropy", true},
      {"sigmoid", "binary_crossentropy", true},             {"softmax", "mean_squared_error", false},
      {"sigmoid", "categorical_crossentropy", false},       {"linear", "sparse_categorical_crossentropy", false},
      {"softmax", "binary_crossentropy", false},
  };
  for (const auto& e : cases) {
    Sequential model({layers::Input({3}), layers::Dense(4, e.activation)});
    model.compile(optimizers::SGD(), e.loss);
    EXPECT_EQ(model.state().fuse_activation_into_loss(), e.fused) << e.activation << " + " << e.loss;
  }
  // from_logits: the output already is the logits; nothing to fuse.
  Sequential model({layers::Input({3}), layers::Dense(4, "softmax")});
  model.compile(optimizers::SGD(), "sparse_categorical_crossentropy", {}, /*from_logits=*/true);
  EXPECT_FALSE(model.state().fuse_activation_into_loss());
}

}  // namespace
}  // namespace kerosene::test
