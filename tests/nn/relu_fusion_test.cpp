// A plain ReLU fused into the BatchNormalization or Add before it (train/layer_fusion.h): the
// fused layer gives the same values and gradients as the layer followed by a ReLU layer, in
// training and inference; its gradients match finite differences; and a model trains to the same
// weights with the executor's fusion on and off (KEROSENE_FUSE_RELU=0), with the plan checked to
// have fused what it should (so the comparison is not between two unfused runs).
#include <gtest/gtest.h>

#include <cstdlib>

#include "kerosene/kerosene.h"
#include "nn/fusion_util.h"
#include "nn/gradient_check.h"
#include "nn/layer.h"
#include "test_util.h"
#include "train/model_state.h"
#include "train/layer_fusion.h"

namespace kerosene::test {
namespace {

const Shape kInput{3, 3, 4};

/// Two identical BatchNormalization layers with random gamma/beta and positive moving variance.
std::pair<LayerPtr, LayerPtr> batch_norm_pair() {
  LayerPtr a = build_layer(layers::BatchNormalization({.momentum = 0.9}), kInput);
  LayerPtr b = build_layer(layers::BatchNormalization({.momentum = 0.9}), kInput);
  randomize_variables(*a, 41);
  auto& variance = a->variables().back().value;
  const auto positive = uniform_values(variance.numel(), 42, 0.5f, 1.5f);
  std::copy(positive.begin(), positive.end(), variance.data<float>());
  copy_variables(*a, *b);
  return {a, b};
}

class BatchNormReluFusion : public testing::TestWithParam<bool> {};

TEST_P(BatchNormReluFusion, MatchesBatchNormThenReluLayer) {
  const bool training = GetParam();
  auto [fused, plain] = batch_norm_pair();
  LayerPtr relu = build_layer(layers::Activation("relu"), kInput);
  ASSERT_TRUE(fused->can_fuse_relu());
  fused->set_fused_relu(true);
  const Shape xs = kInput.with_batch(5);
  const Tensor x = make_tensor(uniform_values(xs.numel(), 43), xs);
  const std::vector<float> expected = values_of(relu->forward(plain->forward(x, training), training));
  const std::vector<float> y = values_of(fused->forward(x, training));
  expect_close(y, expected, 1e-6, 1e-6, "forward");
  int zeros = 0;
  for (float v : y) zeros += v == 0.0f;
  ASSERT_GT(zeros, 0) << "no element was cut by the ReLU: the test would not see a missing mask";

  const Tensor dy = make_tensor(uniform_values(xs.numel(), 44), xs);
  const std::vector<float> dx = values_of(fused->backward(dy, true));
  const std::vector<float> dx_expected = values_of(plain->backward(relu->backward(dy, true), true));
  expect_close(dx, dx_expected, 1e-5, 1e-5, "dx");
  for (size_t i = 0; i < fused->variables().size(); ++i) {
    const nn::Variable& v = fused->variables()[i];
    const nn::Variable& w = plain->variables()[i];
    expect_close(values_of(v.value), values_of(w.value), 1e-6, 1e-6, v.name);  // moving statistics
    if (v.trainable) expect_close(values_of(v.grad), values_of(w.grad), 1e-5, 1e-5, "d/d" + v.name);
  }
}

TEST_P(BatchNormReluFusion, GradientsMatchFiniteDifferences) {
  const bool training = GetParam();
  auto [fused, plain] = batch_norm_pair();
  const Shape xs = kInput.with_batch(4);
  const Tensor x = make_tensor(uniform_values(xs.numel(), 45), xs);
  // Finite differences are only valid away from ReLU's kink: the normalized values (before the
  // ReLU) must keep their sign under the perturbation, which moves them by about
  // eps * |gamma| * inv_std < 3e-3 here.
  ASSERT_GT(min_abs(values_of(plain->forward(x, training))), 0.01f) << "pick another seed";
  fused->set_fused_relu(true);
  CheckOptions o = in_training(training);
  o.eps = 1e-3f;
  check_gradients(fused, x, o);
}

INSTANTIATE_TEST_SUITE_P(TrainingAndInference, BatchNormReluFusion, testing::Bool(),
                         [](const testing::TestParamInfo<bool>& info) { return info.param ? "training" : "inference"; });

TEST(AddReluFusion, MatchesAddThenReluLayer) {
  // Merge layers take several inputs: built for two.
  std::mt19937_64 rng(1);
  LayerPtr fused = layers::Add().impl(), plain = layers::Add().impl();
  fused->build(std::vector<Shape>{kInput, kInput}, Device(), rng);
  plain->build(std::vector<Shape>{kInput, kInput}, Device(), rng);
  LayerPtr relu = build_layer(layers::Activation("relu"), kInput);
  ASSERT_TRUE(fused->can_fuse_relu());
  fused->set_fused_relu(true);
  const Shape xs = kInput.with_batch(3);
  const Tensor a = make_tensor(uniform_values(xs.numel(), 46), xs);
  const Tensor b = make_tensor(uniform_values(xs.numel(), 47), xs);
  const std::vector<const Tensor*> inputs{&a, &b};
  const std::vector<float> y = values_of(fused->forward(inputs, true));
  expect_close(y, values_of(relu->forward(plain->forward(inputs, true), true)), 1e-6, 1e-6, "forward");
  EXPECT_EQ(min_abs(y), 0.0f) << "no element was cut by the ReLU";

  const Tensor dy = make_tensor(uniform_values(xs.numel(), 48), xs);
  std::vector<const Tensor*> dxs, dxs_expected;
  fused->backward(dy, {true, true}, dxs);
  plain->backward(relu->backward(dy, true), {true, true}, dxs_expected);
  ASSERT_EQ(dxs.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_NE(dxs[i], nullptr);
    expect_close(values_of(*dxs[i]), values_of(*dxs_expected[i]), 1e-6, 1e-6, "dx" + std::to_string(i));
  }
}

// --- the executor ------------------------------------------------------------------------------

/// Conv2D -> BN -> ReLU -> Conv2D -> BN, joined with the input: relu(x + y); then a Dense head.
/// With `bn_output` the first BatchNormalization is also a model output (so must not fuse).
Model resnet_block(bool bn_output = false) {
  auto inputs = Input({6, 6, 4});
  layers::Conv2DOptions same{.padding = "same", .use_bias = false};
  KerasTensor y = layers::Conv2D(4, {3, 3}, same)(inputs);
  KerasTensor normalized = layers::BatchNormalization()(y);
  y = layers::Activation("relu")(normalized);
  y = layers::Conv2D(4, {3, 3}, same)(y);
  y = layers::BatchNormalization()(y);
  y = layers::Activation("relu")(layers::Add()({inputs, y}));
  KerasTensor out = layers::Dense(3, "softmax")(layers::Flatten()(y));
  Model model = bn_output ? Model(std::vector<KerasTensor>{inputs}, std::vector<KerasTensor>{out, normalized})
                          : Model(inputs, out);
  return model;
}

int fused_count(const Model& model) {
  const auto plan = train::plan_relu_fusion(model.state().nodes, model.state().output_nodes);
  return static_cast<int>(std::count_if(plan.begin(), plan.end(), [](int p) { return p >= 0; }));
}

TEST(ReluFusionPlan, FusesBatchNormAndResidualAddOnly) {
  DeviceScope cpu("/CPU:0");
  utils::set_random_seed(3);
  EXPECT_EQ(fused_count(resnet_block()), 1);  // the Add; BatchNormalization only when asked
  setenv("KEROSENE_FUSE_BN_RELU", "1", 1);
  EXPECT_EQ(fused_count(resnet_block()), 2);
  // The first BatchNormalization is also an output: its own value must stay, so only the Add fuses.
  EXPECT_EQ(fused_count(resnet_block(/*bn_output=*/true)), 1);
  setenv("KEROSENE_FUSE_RELU", "0", 1);
  EXPECT_EQ(fused_count(resnet_block()), 0);
  unsetenv("KEROSENE_FUSE_RELU");
  unsetenv("KEROSENE_FUSE_BN_RELU");
}

TEST(ReluFusionPlan, TrainsAndPredictsAsUnfused) {
  DeviceScope cpu("/CPU:0");
  utils::set_random_seed(4);
  Model fused = resnet_block();
  Model plain = resnet_block();
  plain.set_weights(fused.get_weights());
  for (Model* m : {&fused, &plain}) m->compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  const Shape xs{8, 6, 6, 4};
  const Tensor x = make_tensor(uniform_values(xs.numel(), 49), xs);
  const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1}, Shape{8});
  // The plan is made at a model's first forward: the plain model's with fusion turned off.
  setenv("KEROSENE_FUSE_BN_RELU", "1", 1);
  for (int step = 0; step < 3; ++step) fused.train_on_batch(x, y);
  unsetenv("KEROSENE_FUSE_BN_RELU");
  setenv("KEROSENE_FUSE_RELU", "0", 1);
  for (int step = 0; step < 3; ++step) plain.train_on_batch(x, y);
  unsetenv("KEROSENE_FUSE_RELU");
  expect_same_weights_and_predictions(fused, plain, x);
}

}  // namespace
}  // namespace kerosene::test
