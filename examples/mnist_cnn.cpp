/*
 * mnist_cnn: the classic Keras MNIST convolutional network, in C++ with kerosene.
 *
 * Conv2D(32, 3x3, ReLU) -> MaxPooling2D(2x2) -> Flatten -> Dense(10, softmax): 54,410 weights,
 * trained with Adam on the 60000 MNIST training images (the last 10% held out for validation),
 * then evaluated on the 10000 test images. One epoch reaches about 97-98% test accuracy.
 *
 * Build (from the repository root; examples are built with the library):
 *   cmake -S . -B build -G Ninja && ninja -C build example_mnist_cnn
 * Run, with an optional number of epochs (default 1):
 *   ./build/example_mnist_cnn 3
 * MNIST is found where Keras, Debian or you keep it: set KEROSENE_DATASETS=<dir> to a directory
 * holding mnist/ with the four IDX files (see kerosene/datasets.h for every place looked at).
 * To train on another logical device, wrap the model's construction in a kerosene::DeviceScope.
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace ks = kerosene;

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 1;
  if (epochs < 1) {
    std::fprintf(stderr, "usage: %s [epochs >= 1]\n", argv[0]);
    return 2;
  }
  try {
    auto [train, test] = ks::datasets::mnist::load_data();  // uint8 images (N, 28, 28), labels (N,)
    ks::Tensor x_train = train.x.to_float() / 255.0f;  // (N, 28, 28) is taken as (N, 28, 28, 1)
    ks::Tensor x_test = test.x.to_float() / 255.0f;

    ks::Sequential model({
        ks::layers::Input({28, 28, 1}),
        ks::layers::Conv2D(32, {3, 3}, "relu"),
        ks::layers::MaxPooling2D({2, 2}),
        ks::layers::Flatten(),
        ks::layers::Dense(10, "softmax"),
    });
    model.summary();
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});

    ks::FitOptions fit;
    fit.epochs = epochs;
    fit.batch_size = 32;
    fit.validation_split = 0.1f;
    model.fit(x_train, train.y, fit);

    ks::EvaluateResult result = model.evaluate(x_test, test.y);
    std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", result.loss(), result["accuracy"]);
  } catch (const ks::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "internal error: %s\n", e.what());
    return 3;
  }
  return 0;
}
