// A one-channel Conv2D and the 2x2 MaxPooling2D after it, fused into one op
// (backends/cpu/conv_max_pool.h, train/layer_fusion.h): the fused layer gives the same pooled
// values and weight gradients as the convolution followed by a pooling layer, over kernel sizes,
// paddings, activations, odd sizes and filter counts that take both of the kernel's block
// widths; its gradients match finite differences; the executor fuses exactly the pairs it may;
// and a model trains and predicts the same with the fusion on and off.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "kerosene/kerosene.h"
#include "backends/cpu/precision_support.h"
#include "nn/fusion_util.h"
#include "nn/gradient_check.h"
#include "nn/layer.h"
#include "test_util.h"
#include "train/layer_fusion.h"
#include "train/model_state.h"

namespace kerosene::test {
namespace {

struct FusionCase {
  int kernel;
  std::string padding, activation;
  bool use_bias;
  int64_t filters, height, width;
};

std::string describe(const FusionCase& c) {
  return "k" + std::to_string(c.kernel) + "_" + c.padding + "_" + c.activation + (c.use_bias ? "_bias" : "") + "_f" +
         std::to_string(c.filters) + "_" + std::to_string(c.height) + "x" + std::to_string(c.width);
}
std::string case_name(const testing::TestParamInfo<FusionCase>& info) { return describe(info.param); }
void PrintTo(const FusionCase& c, std::ostream* os) { *os << describe(c); }

LayerPtr conv_layer(const FusionCase& c, uint64_t seed) {
  layers::Conv2DOptions o{.padding = c.padding, .activation = c.activation, .use_bias = c.use_bias};
  LayerPtr layer = build_layer(layers::Conv2D(c.filters, c.kernel, o), Shape{c.height, c.width, 1});
  randomize_variables(*layer, seed, 0.5f);
  return layer;
}

class ConvMaxPoolFusion : public testing::TestWithParam<FusionCase> {};

TEST_P(ConvMaxPoolFusion, MatchesConvThenPooling) {
  const FusionCase& c = GetParam();
  DeviceScope cpu("/CPU:0");
  LayerPtr fused = conv_layer(c, 51), plain = conv_layer(c, 51);
  ASSERT_TRUE(fused->can_fuse_max_pool());
  LayerPtr pool = build_layer(layers::MaxPooling2D(2), plain->output_shape());
  fused->set_fused_max_pool(true);
  // 9 samples: an odd count, so a two-thread split (the 28x28 case's) gives chunks of 5 and 4.
  const Shape xs{9, c.height, c.width, 1};
  const Tensor x = make_tensor(uniform_values(xs.numel(), 52), xs);
  for (bool training : {false, true}) {
    const std::vector<float> expected = values_of(pool->forward(plain->forward(x, training), training));
    const Tensor& y = fused->forward(x, training);
    ASSERT_EQ(y.shape(), pool->output_shape().with_batch(9));
    const std::vector<float> got = values_of(y);
    expect_close(got, expected, 1e-5, 1e-5, training ? "forward (training)" : "forward (inference)");
    if (c.activation == "relu") {
      ASSERT_EQ(min_abs(got), 0.0f) << "no window was cut by the ReLU: the test would not see a missing mask";
    }
  }
  const Tensor dy = make_tensor(uniform_values(pool->output_shape().with_batch(9).numel(), 53),
                                pool->output_shape().with_batch(9));
  fused->backward(dy, false);
  plain->backward(pool->backward(dy, true), false);
  for (size_t i = 0; i < fused->variables().size(); ++i) {
    const nn::Variable& v = fused->variables()[i];
    expect_close(values_of(v.grad), values_of(plain->variables()[i].grad), 1e-4, 1e-5, "d/d" + v.name);
  }
}

/// The smallest distance, over the 2x2 windows of z (N, H, W, C), between a window's largest
/// value and its second largest, and (with a ReLU after) between the largest and 0: how far a
/// perturbation may move z before the pooling or the ReLU switches branch.
float smallest_margin(const std::vector<float>& z, const Shape& s, bool relu) {
  const int64_t h = s[1], w = s[2], c = s[3];
  float margin = 1e30f;
  for (int64_t n = 0; n < s[0]; ++n) {
    for (int64_t ph = 0; ph + 1 < h; ph += 2) {
      for (int64_t pw = 0; pw + 1 < w; pw += 2) {
        for (int64_t k = 0; k < c; ++k) {
          std::vector<float> v;
          for (int q = 0; q < 4; ++q) v.push_back(z[static_cast<size_t>(((n * h + ph + q / 2) * w + pw + q % 2) * c + k)]);
          std::sort(v.begin(), v.end());
          margin = std::min(margin, v[3] - v[2]);
          if (relu) margin = std::min(margin, std::abs(v[3]));
        }
      }
    }
  }
  return margin;
}

TEST_P(ConvMaxPoolFusion, WeightGradientsMatchFiniteDifferences) {
  FusionCase c = GetParam();
  // Small: every window must be far from a tie and from the ReLU's kink (below) for central
  // differences to hold, which a few dozen windows allow and thousands do not.
  c.height = std::min<int64_t>(c.height, c.kernel + 3);
  c.width = std::min<int64_t>(c.width, c.kernel + 4);
  c.filters = 8;
  DeviceScope cpu("/CPU:0");
  LayerPtr layer = conv_layer(c, 54);
  const float eps = 5e-4f;
  const Shape xs{1, c.height, c.width, 1};
  const Tensor x = make_tensor(uniform_values(xs.numel(), 55), xs);
  {
    FusionCase linear = c;
    linear.activation = "linear";
    LayerPtr twin = conv_layer(linear, 54);
    const Tensor& z = twin->forward(x, false);
    // One weight moved by eps moves each value by at most eps (|x| <= 1, and the bias by eps
    // itself): two values of a window close in by at most 2 eps.
    ASSERT_GT(smallest_margin(values_of(z), z.shape(), c.activation == "relu"), 3 * eps) << "pick another seed";
  }
  layer->set_fused_max_pool(true);
  const Shape ys = layer->forward(x, true).shape();
  const std::vector<float> r = uniform_values(ys.numel(), 56);
  auto objective = [&] {
    const std::vector<float> y = values_of(layer->forward(x, true));
    double sum = 0;
    for (size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(y[i]) * r[i];
    return sum;
  };
  layer->forward(x, true);
  layer->backward(make_tensor(r, ys), false);
  for (nn::Variable& v : layer->variables()) {
    const std::vector<float> analytic = values_of(v.grad);
    float* w = v.value.data<float>();
    for (int64_t i = 0; i < v.value.numel(); ++i) {
      const float keep = w[i];
      w[i] = keep + eps;
      const double up = objective();
      w[i] = keep - eps;
      const double down = objective();
      w[i] = keep;
      const double numeric = (up - down) / (2.0 * eps);
      EXPECT_NEAR(analytic[static_cast<size_t>(i)], numeric, 1e-2 * std::max(1.0, std::abs(numeric)))
          << v.name << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvMaxPoolFusion,
    testing::Values(FusionCase{3, "valid", "relu", true, 32, 28, 28},   // MNIST's first layer (3.5 MFLOP: 2 chunks on 2 cores)
                    FusionCase{3, "valid", "relu", true, 24, 11, 13},   // odd outputs, blocks of 16 + 8
                    FusionCase{3, "same", "linear", false, 8, 10, 9},   // padding, no ReLU, no bias
                    FusionCase{5, "valid", "relu", false, 16, 12, 11},  // 5x5
                    FusionCase{5, "same", "relu", true, 8, 7, 8}),      // 5x5 with padding
    case_name);

TEST(ConvMaxPoolFusionNaN, ANaNWeightGivesNaN) {
  // A NaN weight makes its filter's every output NaN; the fused ReLU must keep it NaN, not
  // turn it into 0 (the loss would stay finite and TerminateOnNaN never fire while the weights
  // stay NaN).
  DeviceScope cpu("/CPU:0");
  const FusionCase c{3, "valid", "relu", true, 8, 6, 6};
  LayerPtr fused = conv_layer(c, 64);
  fused->variables()[0].value.data<float>()[0] = std::nanf("");  // tap (0, 0) of filter 0
  fused->set_fused_max_pool(true);
  const Shape xs{2, 6, 6, 1};
  const Tensor x = make_tensor(uniform_values(xs.numel(), 65), xs);
  const std::vector<float> y = values_of(fused->forward(x, true));  // (2, 2, 2, 8)
  for (size_t i = 0; i < y.size(); ++i) {
    if (i % 8 == 0) {
      EXPECT_TRUE(std::isnan(y[i])) << "filter 0, pooled value " << i / 8;
    } else {
      EXPECT_FALSE(std::isnan(y[i])) << "filter " << i % 8;
    }
  }
}

TEST(ConvMaxPoolFusionBfloat16, MatchesConvThenPoolingInBfloat16) {
  if (!backends::cpu::cpu_computes_in(backends::ComputePrecision::bfloat16)) {
    GTEST_SKIP() << "this CPU has no AVX512-BF16 (or AMX): kerosene computes in bfloat16 nowhere else";
  }
  DeviceScope cpu("/CPU:0");
  auto make = [](uint64_t seed) {
    LayerPtr layer = build_layer(layers::Conv2D(16, 3, {.activation = "relu", .dtype = "mixed_bfloat16"}),
                                 Shape{12, 12, 1});
    randomize_variables(*layer, seed, 0.5f);
    return layer;
  };
  LayerPtr fused = make(61), plain = make(61);
  ASSERT_TRUE(fused->can_fuse_max_pool());
  fused->set_fused_max_pool(true);
  LayerPtr pool = build_layer(layers::MaxPooling2D(2), plain->output_shape());
  const Shape xs{5, 12, 12, 1};
  const Tensor x = make_tensor(uniform_values(xs.numel(), 62), xs);
  const std::vector<float> expected = values_of(pool->forward(plain->forward(x, true), true));
  expect_close(values_of(fused->forward(x, true)), expected, 1e-5, 1e-5, "forward");
  const Shape ys = pool->output_shape().with_batch(5);
  const Tensor dy = make_tensor(uniform_values(ys.numel(), 63), ys);
  fused->backward(dy, false);
  plain->backward(pool->backward(dy, true), false);
  for (size_t i = 0; i < fused->variables().size(); ++i) {
    const nn::Variable& v = fused->variables()[i];
    expect_close(values_of(v.grad), values_of(plain->variables()[i].grad), 1e-4, 1e-5, "d/d" + v.name);
  }
  // And not float32's: the operands were rounded (a float32 run differs at bfloat16's precision).
  LayerPtr wide = build_layer(layers::Conv2D(16, 3, {.activation = "relu", .dtype = "float32"}), Shape{12, 12, 1});
  copy_variables(*plain, *wide);
  const std::vector<float> f32 = values_of(pool->forward(wide->forward(x, true), true));
  double largest = 0;
  for (size_t i = 0; i < f32.size(); ++i) largest = std::max(largest, std::abs(static_cast<double>(f32[i]) - expected[i]));
  EXPECT_GT(largest, 1e-4) << "the bfloat16 run matched float32: were the operands rounded?";
}

// --- the executor ------------------------------------------------------------------------------

/// Conv2D(relu) -> MaxPooling2D -> Conv2D(relu) -> MaxPooling2D -> Flatten -> Dense(3, softmax):
/// only the first pair may fuse (the second convolution's input gradient is needed).
Model two_stage_cnn(const std::string& first_pool_padding = "valid") {
  auto inputs = Input({14, 14, 1});
  KerasTensor y = layers::Conv2D(8, 3, "relu")(inputs);
  layers::Pooling2DOptions pooling;
  pooling.padding = first_pool_padding;
  y = layers::MaxPooling2D(2, pooling)(y);
  y = layers::Conv2D(8, 3, "relu")(y);
  y = layers::MaxPooling2D(2)(y);
  KerasTensor out = layers::Dense(3, "softmax")(layers::Flatten()(y));
  return Model(inputs, out);
}

int pool_fused_count(const Model& model) {
  const auto plan = train::plan_max_pool_fusion(model.state().nodes, model.state().output_nodes);
  return static_cast<int>(std::count_if(plan.begin(), plan.end(), [](int p) { return p >= 0; }));
}

TEST(ConvMaxPoolFusionPlan, FusesAOneChannelConvolutionOfTheInputOnly) {
  DeviceScope cpu("/CPU:0");
  utils::set_random_seed(5);
  EXPECT_EQ(pool_fused_count(two_stage_cnn()), 1);
  EXPECT_EQ(pool_fused_count(two_stage_cnn("same")), 0);  // only "valid" 2x2 windows
  setenv("KEROSENE_FUSE_CONV_POOL", "0", 1);
  EXPECT_EQ(pool_fused_count(two_stage_cnn()), 0);
  unsetenv("KEROSENE_FUSE_CONV_POOL");
  setenv("KEROSENE_FUSE_RELU", "0", 1);  // no fusion at all
  EXPECT_EQ(pool_fused_count(two_stage_cnn()), 0);
  unsetenv("KEROSENE_FUSE_RELU");
  {  // the convolution's output is also a model output: it must be written
    auto inputs = Input({14, 14, 1});
    KerasTensor conv = layers::Conv2D(8, 3, "relu")(inputs);
    KerasTensor out = layers::Dense(3, "softmax")(layers::Flatten()(layers::MaxPooling2D(2)(conv)));
    EXPECT_EQ(pool_fused_count(Model(std::vector<KerasTensor>{inputs}, std::vector<KerasTensor>{out, conv})), 0);
  }
  for (const std::string policy : {"mixed_bfloat16", "mixed_float16"}) {
    // bfloat16 fuses (the kernel computes on operands rounded to it, as oneDNN does); float16,
    // which the CPU does not compute in, runs unfused and fails there as it would unfused.
    auto inputs = Input({14, 14, 1});
    KerasTensor y = layers::Conv2D(8, 3, {.activation = "relu", .dtype = policy})(inputs);
    EXPECT_EQ(pool_fused_count(Model(inputs, layers::Dense(3, "softmax")(layers::Flatten()(layers::MaxPooling2D(2)(y))))),
              policy == "mixed_bfloat16" ? 1 : 0)
        << policy;
  }
}

TEST(ConvMaxPoolFusionPlan, TrainsAndPredictsAsUnfused) {
  DeviceScope cpu("/CPU:0");
  utils::set_random_seed(6);
  Model fused = two_stage_cnn();
  Model plain = two_stage_cnn();
  plain.set_weights(fused.get_weights());
  for (Model* m : {&fused, &plain}) m->compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  const Shape xs{16, 14, 14, 1};
  const Tensor x = make_tensor(uniform_values(xs.numel(), 57), xs);
  std::vector<int32_t> labels(16);
  for (int i = 0; i < 16; ++i) labels[static_cast<size_t>(i)] = i % 3;
  const Tensor y = Tensor::from_vector(labels, Shape{16});
  // The plan the executor runs (made at first use): the fused model's pooling is folded into
  // its convolution; the plain model's, made with the fusion turned off, folds nothing.
  const auto& plan = fused.state().fusion_plan();
  ASSERT_EQ(std::count_if(plan.begin(), plan.end(), [](int p) { return p >= 0; }), 1);
  for (int step = 0; step < 3; ++step) fused.train_on_batch(x, y);
  setenv("KEROSENE_FUSE_CONV_POOL", "0", 1);
  for (int step = 0; step < 3; ++step) plain.train_on_batch(x, y);
  unsetenv("KEROSENE_FUSE_CONV_POOL");
  const auto& unfused_plan = plain.state().fusion_plan();
  ASSERT_EQ(std::count_if(unfused_plan.begin(), unfused_plan.end(), [](int p) { return p >= 0; }), 0);
  expect_same_weights_and_predictions(fused, plain, x);
}

}  // namespace
}  // namespace kerosene::test
