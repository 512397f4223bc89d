// mixed_bfloat16 learns as float32 does: the classic MLP and CNN reach the same test accuracy
// (within half a point) after one epoch on real data, the CNN on a sixth of the training set to
// keep this short (tests/real_data.h says which data).
#include <gtest/gtest.h>

#include <cstdio>

#include "backends/cpu/precision_support.h"
#include "kerosene/kerosene.h"
#include "real_data.h"

namespace kerosene {
namespace {

struct Data {
  Tensor x_train, y_train, x_test, y_test;
};

const Data& data() {
  static const Data d = [] {
    auto [train, test] = datasets::load(test_util::real_data()->path);
    return Data{train.x.to_float() / 255.0f, train.y, test.x.to_float() / 255.0f, test.y};
  }();
  return d;
}

// Test accuracy of `make()`'s model trained under `policy` for one epoch on `samples`.
template <typename Make>
double accuracy_under(const std::string& policy, Make make, int64_t samples) {
  mixed_precision::set_global_policy(policy);
  utils::set_random_seed(1);
  Sequential model = make();
  mixed_precision::set_global_policy("float32");
  model.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions fit;
  fit.batch_size = 32;
  fit.epochs = 1;
  fit.verbose = 0;
  model.fit(data().x_train.slice(0, samples), data().y_train.slice(0, samples), fit);
  EvaluateOptions evaluate;
  evaluate.batch_size = 256;
  evaluate.verbose = 0;
  return model.evaluate(data().x_test, data().y_test, evaluate)["accuracy"];
}

template <typename Make>
void expect_same_accuracy(const char* what, Make make, int64_t samples) {
  KEROSENE_REQUIRE_REAL_DATA();
  if (!backends::cpu::cpu_computes_in(backends::ComputePrecision::bfloat16)) GTEST_SKIP() << "no AVX512-BF16";
  const double f32 = accuracy_under("float32", make, samples);
  const double bf16 = accuracy_under("mixed_bfloat16", make, samples);
  std::printf("%s on %s: float32 %.4f, mixed_bfloat16 %.4f\n", what, test_util::real_data()->name.c_str(), f32, bf16);
  EXPECT_NEAR(bf16, f32, 0.005);
}

TEST(MixedPrecisionAccuracyTest, MlpMatchesFloat32AfterOneEpoch) {
  expect_same_accuracy("MLP", [] {
    return Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"),
                       layers::Dense(10, "softmax")});
  }, 60000);
}

TEST(MixedPrecisionAccuracyTest, CnnMatchesFloat32AfterOneEpoch) {
  expect_same_accuracy("CNN", [] {
    return Sequential({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                       layers::Flatten(), layers::Dense(10, "softmax")});
  }, 10000);
}

}  // namespace
}  // namespace kerosene
