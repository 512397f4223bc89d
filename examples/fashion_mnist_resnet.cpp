/*
 * fashion_mnist_resnet: a small residual network (the Functional API) on Fashion-MNIST.
 *
 * Two residual stages in the style of ResNet v1: each block computes relu(x + f(x)), where f is
 * conv3x3-BatchNormalization-relu-conv3x3-BatchNormalization; where the number of channels
 * changes, a 1x1 convolution projects x (Keras' ResNet examples do the same). Built with kerosene::Input, layers called on tensors, and
 * layers::Add for the shortcut; then compile/fit/evaluate as for a Sequential model.
 *
 * Build: cmake -S . -B build -G Ninja && ninja -C build example_fashion_mnist_resnet
 * Run, with an optional number of epochs (default 1) and training images (default all 60000):
 *   ./build/example_fashion_mnist_resnet 2 20000
 * Fashion-MNIST is found where Keras or Debian keeps it (apt install dataset-fashion-mnist), or
 * under $KEROSENE_DATASETS (see kerosene/datasets.h).
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace ks = kerosene;
using ks::KerasTensor;
namespace layers = ks::layers;

namespace {

layers::Conv2DOptions same(const std::string& activation = "linear") {
  return {.padding = "same", .activation = activation};
}

/// relu(x + f(x)), f = conv-BN-relu-conv-BN; x projected by a 1x1 convolution when its channels
/// differ. The convolutions before a BatchNormalization have no bias (its beta is the bias).
KerasTensor residual_block(const KerasTensor& x, int64_t filters) {
  layers::Conv2DOptions no_bias{.padding = "same", .use_bias = false};
  KerasTensor shortcut = x;
  if (x.shape()[-1] != filters) shortcut = layers::Conv2D(filters, {1, 1}, same())(x);
  KerasTensor y = layers::Conv2D(filters, {3, 3}, no_bias)(x);
  y = layers::Activation("relu")(layers::BatchNormalization()(y));
  y = layers::Conv2D(filters, {3, 3}, no_bias)(y);
  y = layers::BatchNormalization()(y);
  return layers::Activation("relu")(layers::Add()({shortcut, y}));
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 1;
  const int64_t samples = argc > 2 ? std::atoll(argv[2]) : 60000;
  if (epochs < 1 || samples < 1) {
    std::fprintf(stderr, "usage: %s [epochs >= 1] [training images >= 1]\n", argv[0]);
    return 2;
  }
  try {
    auto [train, test] = ks::datasets::fashion_mnist::load_data();
    const int64_t n = std::min<int64_t>(samples, train.x.dim(0));
    ks::Tensor x_train = train.x.slice(0, n).to_float() / 255.0f;
    ks::Tensor y_train = train.y.slice(0, n);
    ks::Tensor x_test = test.x.to_float() / 255.0f;

    auto inputs = ks::Input({28, 28, 1}, "image");
    KerasTensor x = layers::Conv2D(16, {3, 3}, same("relu"))(inputs);
    x = residual_block(x, 16);
    x = layers::MaxPooling2D({2, 2})(x);  // 14x14
    x = residual_block(x, 32);
    x = layers::MaxPooling2D({2, 2})(x);  // 7x7
    x = layers::Flatten()(x);
    auto outputs = layers::Dense(10, "softmax")(x);
    ks::Model model(inputs, outputs, "fashion_resnet");
    model.summary();
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});

    ks::FitOptions fit;
    fit.epochs = epochs;
    fit.batch_size = 128;
    fit.validation_split = 0.1f;
    model.fit(x_train, y_train, fit);
    const ks::EvaluateResult result = model.evaluate(x_test, test.y, {.verbose = 0});
    std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", result.loss(), result["accuracy"]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist_resnet: %s\n", e.what());
    return 1;
  }
}
