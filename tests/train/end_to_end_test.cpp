// End to end on real MNIST: the classic Keras models reach the accuracy Keras users know after
// one epoch (the MLP on the whole training set, the CNN on a sixth of it, to keep this quick).
#include <gtest/gtest.h>

#include <cstdio>

#include "kerosene/kerosene.h"

namespace kerosene {
namespace {

struct Mnist {
  Tensor x_train, y_train, x_test, y_test;
};

const Mnist& mnist() {
  static const Mnist data = [] {
    auto [train, test] = datasets::load_idx_directory(KEROSENE_SOURCE_DIR "/../shared/datasets/mnist");
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
  ASSERT_EQ(mnist().x_train.shape(), Shape({60000, 28, 28}));
  ASSERT_EQ(mnist().x_test.shape(), Shape({10000, 28, 28}));
  utils::set_random_seed(1);
  Sequential model({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"),
                    layers::Dense(10, "softmax")});
  const double accuracy = train_and_test(model, 60000);
  EXPECT_GE(accuracy, 0.95);
  std::printf("MLP test accuracy after one epoch: %.4f\n", accuracy);
}

TEST(EndToEndTest, MnistCnnOneEpochOnTenThousandSamples) {
  utils::set_random_seed(1);
  Sequential model({layers::Input({28, 28, 1}), layers::Conv2D(32, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                    layers::Flatten(), layers::Dense(10, "softmax")});
  const double accuracy = train_and_test(model, 10000);
  EXPECT_GE(accuracy, 0.90);
  std::printf("CNN test accuracy after one epoch on 10000 samples: %.4f\n", accuracy);
}

}  // namespace
}  // namespace kerosene
