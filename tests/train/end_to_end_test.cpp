// End to end on real data: the classic Keras models reach the accuracy Keras users know after
// one epoch (the MLP on the whole training set, the CNN on a sixth of it, to keep this quick), on
// MNIST, or on Fashion-MNIST where MNIST is not on the machine (see tests/real_data.h).
#include <gtest/gtest.h>

#include <cstdio>

#include "kerosene/kerosene.h"
#include "real_data.h"

namespace kerosene {
namespace {

struct Mnist {
  Tensor x_train, y_train, x_test, y_test;
};

const Mnist& mnist() {
  static const Mnist data = [] {
    auto [train, test] = datasets::load(test_util::real_data()->path);
    return Mnist{train.x.to_float() / 255.0f, train.y, test.x.to_float() / 255.0f, test.y};
  }();
  return data;
}

double train_and_test(Sequential& model, int64_t train_samples) {
  const Mnist& d = mnist();
  model.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions fit;
  fit.batch_size = 32;
  fit.epochs = 1;
  fit.verbose = 0;
  History h = model.fit(d.x_train.slice(0, train_samples), d.y_train.slice(0, train_samples), fit);
  EXPECT_EQ(h.history["accuracy"].size(), 1u);
  EvaluateOptions evaluate;
  evaluate.batch_size = 256;
  evaluate.verbose = 0;
  return model.evaluate(d.x_test, d.y_test, evaluate)["accuracy"];
}

TEST(EndToEndTest, MnistMlpOneEpoch) {
  KEROSENE_REQUIRE_REAL_DATA();
  ASSERT_EQ(mnist().x_train.shape(), Shape({60000, 28, 28}));
  ASSERT_EQ(mnist().x_test.shape(), Shape({10000, 28, 28}));
  utils::set_random_seed(1);
  Sequential model({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"),
                    layers::Dense(10, "softmax")});
  const double accuracy = train_and_test(model, 60000);
  EXPECT_GE(accuracy, test_util::real_data()->mlp_one_epoch) << "on " << test_util::real_data()->name;
  std::printf("MLP test accuracy after one epoch on %s: %.4f\n", test_util::real_data()->name.c_str(), accuracy);
}

TEST(EndToEndTest, MnistCnnOneEpochOnTenThousandSamples) {
  KEROSENE_REQUIRE_REAL_DATA();
  utils::set_random_seed(1);
  Sequential model({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                    layers::Flatten(), layers::Dense(10, "softmax")});
  const double accuracy = train_and_test(model, 10000);
  EXPECT_GE(accuracy, test_util::real_data()->cnn_10k_samples) << "on " << test_util::real_data()->name;
  std::printf("CNN test accuracy after one epoch on 10000 samples of %s: %.4f\n", test_util::real_data()->name.c_str(),
              accuracy);
}

}  // namespace
}  // namespace kerosene
