/*
 * fashion_mnist_two_inputs: a Functional model with two inputs, two outputs and a shared layer.
 *
 * Each Fashion-MNIST image is cut into its top and bottom halves, the model's two inputs. One
 * convolutional tower, shared by both halves (the same layers called twice: one set of
 * weights, trained by both calls), reads them; the features are concatenated and feed two
 * outputs: the category (10 classes) and whether the item is footwear (sandal, sneaker, ankle
 * boot). compile takes one loss per output and loss_weights, as Keras' compile does; fit and
 * evaluate take a list of inputs and a list of targets; the logs name each output's loss and
 * metrics ("category_accuracy", "footwear_loss", ...).
 *
 * Build: cmake -S . -B build -G Ninja && ninja -C build example_fashion_mnist_two_inputs
 * Run, with an optional number of epochs (default 1) and training images (default all 60000):
 *   ./build/example_fashion_mnist_two_inputs 2 20000
 * Fashion-MNIST is found where Keras or Debian keeps it (apt install dataset-fashion-mnist), or
 * under $KEROSENE_DATASETS (see kerosene/datasets.h).
 */
#include <kerosene/kerosene.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

namespace ks = kerosene;
using ks::KerasTensor;
namespace layers = ks::layers;

namespace {

struct Halves {
  ks::Tensor top, bottom, footwear;
};

/// Rows 0-13 and 14-27 of each (28, 28) image, scaled to [0, 1]; and 1 for footwear (classes
/// 5, 7 and 9), else 0.
Halves split(const ks::Tensor& images, const ks::Tensor& labels, int64_t n) {
  const std::vector<float> pixels = images.slice(0, n).to_float().to_vector<float>();
  const std::vector<float> classes = labels.slice(0, n).to_float().to_vector<float>();
  std::vector<float> top(static_cast<size_t>(n) * 14 * 28), bottom(top.size()), footwear(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < 14 * 28; ++p) {
      top[static_cast<size_t>(i * 14 * 28 + p)] = pixels[static_cast<size_t>(i * 784 + p)] / 255.0f;
      bottom[static_cast<size_t>(i * 14 * 28 + p)] = pixels[static_cast<size_t>(i * 784 + 14 * 28 + p)] / 255.0f;
    }
    const int c = static_cast<int>(classes[static_cast<size_t>(i)]);
    footwear[static_cast<size_t>(i)] = c == 5 || c == 7 || c == 9 ? 1.0f : 0.0f;
  }
  return {ks::Tensor::from_vector(top, {n, 14, 28, 1}), ks::Tensor::from_vector(bottom, {n, 14, 28, 1}),
          ks::Tensor::from_vector(footwear, {n, 1})};
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
    const Halves tr = split(train.x, train.y, n), te = split(test.x, test.y, test.x.dim(0));

    // One tower, called on both halves: its layers (and weights) are shared.
    ks::Layer conv1 = layers::Conv2D(16, 3, layers::Conv2DOptions{.padding = "same", .activation = "relu"});
    ks::Layer pool = layers::MaxPooling2D(2);
    ks::Layer conv2 = layers::Conv2D(32, 3, layers::Conv2DOptions{.padding = "same", .activation = "relu"});
    ks::Layer gap = layers::GlobalAveragePooling2D();
    auto tower = [&](const KerasTensor& half) { return gap(conv2(pool(conv1(half)))); };

    KerasTensor top = ks::Input({14, 28, 1}, "top"), bottom = ks::Input({14, 28, 1}, "bottom");
    KerasTensor features = layers::Concatenate()({tower(top), tower(bottom)});
    features = layers::Dense(64, "relu")(features);
    KerasTensor category = layers::Dense(10, layers::DenseOptions{.activation = "softmax", .name = "category"})(features);
    KerasTensor footwear = layers::Dense(1, layers::DenseOptions{.activation = "sigmoid", .name = "footwear"})(features);
    ks::Model model({top, bottom}, {category, footwear}, "two_halves");
    model.summary();
    model.compile(ks::optimizers::Adam(), {.loss = {"sparse_categorical_crossentropy", "binary_crossentropy"},
                                           .loss_weights = {1.0f, 0.2f},
                                           .metrics = {{"accuracy"}, {"accuracy"}}});

    ks::FitOptions fit;
    fit.epochs = epochs;
    fit.batch_size = 128;
    fit.validation_split = 0.1f;
    model.fit({tr.top, tr.bottom}, {train.y.slice(0, n), tr.footwear}, fit);
    const ks::EvaluateResult result = model.evaluate({te.top, te.bottom}, {test.y, te.footwear}, {.verbose = 0});
    std::printf("Test loss: %.4f\nTest category accuracy: %.4f\nTest footwear accuracy: %.4f\n", result.loss(),
                result["category_accuracy"], result["footwear_accuracy"]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fashion_mnist_two_inputs: %s\n", e.what());
    return 1;
  }
}
