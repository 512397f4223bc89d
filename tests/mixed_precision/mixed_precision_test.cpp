// Mixed precision: the dtype policies (Keras' names), Dense and Conv2D computing in bfloat16 on
// the CPU (checked against float32 references on bfloat16-rounded operands: a silent float32 run
// would miss them), the refusals, the policy in saved configs, and LossScaleOptimizer; Keras'
// values come from scripts/make_mixed_precision_reference.py (tests/reference/mixed_precision.json).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "backends/cpu/precision_support.h"
#include "kerosene/kerosene.h"
#include "nn/optimizer.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

namespace mp = mixed_precision;

// Round to nearest even, as oneDNN's conversion does (no NaN in these tests).
float to_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  std::memcpy(&x, &u, 4);
  return x;
}
std::vector<float> rounded(std::vector<float> v) {
  for (float& x : v) x = to_bf16(x);
  return v;
}

#define REQUIRE_BF16() \
  if (!backends::cpu::cpu_computes_in(backends::ComputePrecision::bfloat16)) GTEST_SKIP() << "this CPU has no AVX512-BF16"

// Restores the float32 global policy whatever a test does.
struct PolicyGuard {
  ~PolicyGuard() { mp::set_global_policy("float32"); }
};

TEST(MixedPrecisionTest, PoliciesHaveKerasNamesAndDtypes) {
  EXPECT_EQ(mp::DTypePolicy("mixed_bfloat16").compute_dtype(), "bfloat16");
  EXPECT_EQ(mp::DTypePolicy("mixed_bfloat16").variable_dtype(), "float32");
  EXPECT_EQ(mp::DTypePolicy("mixed_float16").compute_dtype(), "float16");
  EXPECT_EQ(mp::DTypePolicy().compute_dtype(), "float32");
  EXPECT_THROW(mp::DTypePolicy("mixed_half"), ValueError);
  try {
    mp::DTypePolicy("bfloat16");
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("mixed_bfloat16"), std::string::npos) << e.what();
  }
}

TEST(MixedPrecisionTest, GlobalPolicyReachesNewLayersAndOptionsOverrideIt) {
  PolicyGuard guard;
  const Layer before = layers::Dense(4);
  mp::set_global_policy("mixed_bfloat16");
  EXPECT_EQ(mp::global_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(layers::Dense(4).dtype_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(layers::Conv2D(4, 3).dtype_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(layers::Dense(4, {.dtype = "float32"}).dtype_policy().name(), "float32");
  EXPECT_EQ(before.dtype_policy().name(), "float32");  // made before: keeps its own
  EXPECT_THROW(layers::Dense(4, {.dtype = "float64"}), ValueError);
}

TEST(MixedPrecisionTest, DenseComputesInBfloat16ForwardAndBackward) {
  REQUIRE_BF16();
  const int64_t in = 37, units = 19, rows = 23;
  auto layer = build_layer(layers::Dense(units, {.dtype = "mixed_bfloat16"}), Shape{in});
  randomize_variables(*layer, 3);
  const std::vector<float> xv = uniform_values(rows * in, 5);
  const Tensor x = make_tensor(xv, {rows, in});
  const std::vector<float> kernel = values_of(layer->variables()[0].value), bias = values_of(layer->variables()[1].value);
  const std::vector<float> y = values_of(layer->forward(x, true));
  expect_close(y, ref_dense(rounded(xv), rounded(kernel), &bias, in, units, "linear"), 1e-5, 1e-5, "");
  // Not float32: the unrounded product is measurably elsewhere.
  const std::vector<float> f32 = ref_dense(xv, kernel, &bias, in, units, "linear");
  double most = 0;
  for (size_t i = 0; i < y.size(); ++i) most = std::max(most, std::abs(static_cast<double>(y[i]) - f32[i]));
  EXPECT_GT(most, 1e-3);
  // Backward: dW = x^T dy and dx = dy W^T on rounded operands.
  const std::vector<float> dyv = uniform_values(rows * units, 9);
  const std::vector<float> dx = values_of(layer->backward(make_tensor(dyv, {rows, units}), true));
  const std::vector<float> xr = rounded(xv), dyr = rounded(dyv), kr = rounded(kernel);
  std::vector<float> dw_ref(in * units, 0.0f), dx_ref(rows * in, 0.0f);
  for (int64_t i = 0; i < in; ++i)
    for (int64_t u = 0; u < units; ++u) {
      double s = 0;
      for (int64_t r = 0; r < rows; ++r) s += static_cast<double>(xr[r * in + i]) * dyr[r * units + u];
      dw_ref[i * units + u] = static_cast<float>(s);
    }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < in; ++i) {
      double s = 0;
      for (int64_t u = 0; u < units; ++u) s += static_cast<double>(dyr[r * units + u]) * kr[i * units + u];
      dx_ref[r * in + i] = static_cast<float>(s);
    }
  expect_close(values_of(layer->variables()[0].grad), dw_ref, 1e-5, 1e-5, "");
  expect_close(dx, dx_ref, 1e-5, 1e-5, "");
}

TEST(MixedPrecisionTest, Conv2DComputesInBfloat16ForwardAndBackward) {
  REQUIRE_BF16();
  const Shape xs{4, 9, 8, 5}, ws{3, 3, 5, 16};
  auto layer = build_layer(layers::Conv2D(16, 3, {.padding = "same", .dtype = "mixed_bfloat16"}), Shape{9, 8, 5});
  randomize_variables(*layer, 4);
  const std::vector<float> xv = uniform_values(xs.numel(), 6);
  const std::vector<float> w = values_of(layer->variables()[0].value), bias = values_of(layer->variables()[1].value);
  const std::vector<float> y = values_of(layer->forward(make_tensor(xv, xs), true));
  expect_close(y, ref_conv2d(rounded(xv), xs, rounded(w), ws, &bias, 1, 1, "same", "linear"), 1e-5, 1e-5, "");
  // Backward against a float32 layer fed the rounded operands: same sums, float32 accumulation.
  auto reference = build_layer(layers::Conv2D(16, 3, {.padding = "same", .dtype = "float32"}), Shape{9, 8, 5});
  copy_variables(*layer, *reference);
  std::vector<float> wr = rounded(w);
  std::copy(wr.begin(), wr.end(), reference->variables()[0].value.data<float>());
  reference->forward(make_tensor(rounded(xv), xs), true);
  const std::vector<float> dyv = uniform_values(static_cast<int64_t>(y.size()), 8);
  const Tensor dy = make_tensor(dyv, layer->output_shape().with_batch(4));
  const std::vector<float> dx = values_of(layer->backward(dy, true));
  const std::vector<float> dx_ref = values_of(reference->backward(make_tensor(rounded(dyv), dy.shape()), true));
  expect_close(dx, dx_ref, 1e-4, 1e-4, "");
  expect_close(values_of(layer->variables()[0].grad), values_of(reference->variables()[0].grad), 1e-4, 1e-4, "");
  expect_close(values_of(layer->variables()[1].grad), values_of(reference->variables()[1].grad), 1e-4, 1e-4, "");
}

TEST(MixedPrecisionTest, CpuWithoutTheFeatureRefusesClearly) {
  using backends::ComputePrecision;
  try {
    backends::cpu::require_cpu_precision(ComputePrecision::bfloat16, 0u);  // a CPU without it
    FAIL() << "bfloat16 without AVX512-BF16 should throw";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("AVX512-BF16"), std::string::npos) << e.what();
  }
  // oneDNN 2.x has no float16 CPU kernels: mixed_float16 says so at its first Dense.
  auto layer = build_layer(layers::Dense(3, {.dtype = "mixed_float16"}), Shape{4});
  try {
    layer->forward(make_tensor(uniform_values(8, 1), {2, 4}), false);
    FAIL() << "mixed_float16 on this CPU should throw";
  } catch (const DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find("float16"), std::string::npos) << e.what();
  }
}

TEST(MixedPrecisionTest, PolicyRoundTripsThroughKerasFiles) {
  PolicyGuard guard;
  Sequential model({layers::Input({6}), layers::Dense(5, {.activation = "relu", .dtype = "mixed_bfloat16"}),
                    layers::Dense(2, "softmax")});
  const auto config = nlohmann::json::parse(model.to_json());
  const auto& dense = config["config"]["layers"][1]["config"];
  EXPECT_EQ(dense["dtype"], load_reference("mixed_precision.json")["dense_dtype_config"]["mixed_bfloat16"]);
  EXPECT_EQ(config["config"]["layers"][2]["config"]["dtype"], "float32");
  const std::string path = (std::filesystem::temp_directory_path() / "kerosene_mixed_policy.keras").string();
  model.save(path);
  mp::set_global_policy("mixed_bfloat16");  // a loaded layer keeps the policy its config names
  Model loaded = models::load_model(path, false);
  std::filesystem::remove(path);
  EXPECT_EQ(loaded.layers()[0].dtype_policy().name(), "mixed_bfloat16");
  EXPECT_EQ(loaded.layers()[1].dtype_policy().name(), "float32");
}

// --- LossScaleOptimizer ------------------------------------------------------------------------

struct OneVariable {
  nn::Variable v{"kernel", make_tensor({1.0f, 2.0f}, {2}), make_tensor({0.0f, 0.0f}, {2})};
  void set_grad(float a, float b) {
    v.grad.data<float>()[0] = a;
    v.grad.data<float>()[1] = b;
  }
};

// Keras' own LossScaleOptimizer on the same gradients (scripts/make_mixed_precision_reference.py):
// forced overflows skip the step and halve the scale, finite steps are unscaled and grow it.
TEST(LossScaleOptimizerTest, MatchesKerasOnOverflowAndGrowth) {
  const json ref = load_reference("mixed_precision.json")["loss_scale_optimizer"];
  Optimizer opt = optimizers::LossScaleOptimizer(optimizers::SGD({.learning_rate = 0.5f}),
                                                 {.initial_scale = ref["initial_scale"].get<float>(),
                                                  .dynamic_growth_steps = ref["dynamic_growth_steps"].get<int64_t>()});
  OneVariable w;
  std::vector<nn::Variable*> vars{&w.v};
  int step = 0;
  for (const json& s : ref["steps"]) {
    float g[2];
    for (int i = 0; i < 2; ++i) {
      const std::string is = s["grad_is"][i];
      g[i] = is == "inf"   ? std::numeric_limits<float>::infinity()
             : is == "nan" ? std::nanf("")
                           : s["grad"][i].get<float>();
    }
    w.set_grad(g[0], g[1]);
    opt.impl()->apply(vars);
    SCOPED_TRACE("step " + std::to_string(step++));
    EXPECT_EQ(values_of(w.v.value), floats_of(s["variable"]));
    EXPECT_EQ(opt.loss_scale(), s["scale"].get<float>());
    EXPECT_EQ(opt.impl()->loss_scale_step_counter(), s["step_counter"].get<int64_t>());
    EXPECT_EQ(opt.iterations(), s["iterations"].get<int64_t>());
  }
}

TEST(LossScaleOptimizerTest, KerasDefaultsAndBadOptions) {
  const json ref = load_reference("mixed_precision.json")["loss_scale_optimizer"];
  Optimizer opt = optimizers::LossScaleOptimizer(optimizers::Adam());
  EXPECT_EQ(opt.loss_scale(), ref["default_initial_scale"].get<float>());
  EXPECT_EQ(opt.impl()->config().loss_scale->dynamic_growth_steps, ref["default_dynamic_growth_steps"].get<int64_t>());
  EXPECT_EQ(optimizers::Adam().loss_scale(), 1.0f);
  EXPECT_THROW(optimizers::LossScaleOptimizer(optimizers::Adam(), {.initial_scale = 0.0f}), ValueError);
  EXPECT_THROW(optimizers::LossScaleOptimizer(optimizers::Adam(), {.dynamic_growth_steps = 0}), ValueError);
  EXPECT_THROW(optimizers::LossScaleOptimizer(opt), ValueError);
}

// Power-of-two scaling is exact: fit with a scaled loss gives the unscaled run's weights.
TEST(LossScaleOptimizerTest, FitMatchesTheUnscaledOptimizer) {
  auto run = [](Optimizer opt) {
    utils::set_random_seed(4);
    Sequential model({layers::Input({5}), layers::Dense(8, "relu"), layers::Dense(3, "softmax")});
    model.compile(opt, "sparse_categorical_crossentropy");
    const Tensor x = make_tensor(uniform_values(64 * 5, 2), {64, 5});
    std::vector<float> labels(64);
    for (int i = 0; i < 64; ++i) labels[i] = static_cast<float>(i % 3);
    FitOptions fit;
    fit.batch_size = 16;
    fit.epochs = 2;
    fit.verbose = 0;
    model.fit(x, make_tensor(labels, {64}), fit);
    return values_of(model.layers()[0].get_weights()[0]);
  };
  const std::vector<float> plain = run(optimizers::SGD({.learning_rate = 0.1f}));
  const std::vector<float> scaled = run(optimizers::LossScaleOptimizer(optimizers::SGD({.learning_rate = 0.1f})));
  expect_close(scaled, plain, 1e-6, 1e-6, "");
}

}  // namespace
}  // namespace kerosene::test
