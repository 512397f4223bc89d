/*
 * cifar10_resnet20: ResNet-20 (v1) on CIFAR-10, as Keras' own example cifar10_resnet.py builds it.
 *
 * The network of He et al. (2015) for CIFAR: a 3x3 convolution with 16 filters, then three
 * stages of three residual blocks each (16, 32 and 64 filters; the first block of stages 2 and
 * 3 halves the image with strides 2 and projects its shortcut with a 1x1 convolution), then
 * 8x8 average pooling and a softmax over the 10 classes: 20 weighted layers, 274,442 weights.
 * Each block computes relu(x + BN(conv(relu(BN(conv(x)))))) with he_normal initializers, as
 * the Keras example's resnet_layer does. Inputs are scaled to [0, 1] and the training set's
 * per-pixel mean is subtracted, as there.
 *
 * Differences from the Keras example, which trains for 200 epochs: no L2 weight regularizer
 * (kerosene has none yet), no data augmentation, and a fixed learning rate (Adam, 1e-3) instead
 * of its step schedule. Without augmentation expect about 80% test accuracy after 30 epochs.
 *
 * Build: cmake -S . -B build -G Ninja && ninja -C build example_cifar10_resnet20
 * Run, with an optional number of epochs (default 1) and training images (default all 50000):
 *   ./build/example_cifar10_resnet20 30
 * CIFAR-10 is found where Keras keeps it (~/.keras/datasets/cifar-10-batches-py, or its
 * tarball), or under $KEROSENE_DATASETS (see kerosene/datasets.h); it is downloaded only when
 * KEROSENE_DOWNLOAD allows it.
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

/// Keras' resnet_layer: Conv2D (he_normal, same padding), then BatchNormalization and the
/// activation when asked.
KerasTensor resnet_layer(const KerasTensor& x, int64_t filters, int64_t kernel = 3, int64_t strides = 1,
                         const std::string& activation = "relu", bool batch_normalization = true) {
  layers::Conv2DOptions conv{.strides = strides, .padding = "same", .kernel_initializer = "he_normal"};
  KerasTensor y = layers::Conv2D(filters, kernel, conv)(x);
  if (batch_normalization) y = layers::BatchNormalization()(y);
  if (!activation.empty()) y = layers::Activation(activation)(y);
  return y;
}

ks::Model resnet20(const ks::Shape& input_shape, int64_t classes) {
  const int depth = 20, blocks = (depth - 2) / 6;
  int64_t filters = 16;
  auto inputs = ks::Input(input_shape, "image");
  KerasTensor x = resnet_layer(inputs, filters);
  for (int stage = 0; stage < 3; ++stage) {
    for (int block = 0; block < blocks; ++block) {
      const bool downsample = stage > 0 && block == 0;
      const int64_t strides = downsample ? 2 : 1;
      KerasTensor y = resnet_layer(x, filters, 3, strides);
      y = resnet_layer(y, filters, 3, 1, /*activation=*/"");
      if (downsample) x = resnet_layer(x, filters, 1, strides, "", /*batch_normalization=*/false);
      x = layers::Activation("relu")(layers::Add()({x, y}));
    }
    filters *= 2;
  }
  x = layers::Flatten()(layers::AveragePooling2D(8)(x));
  auto outputs = layers::Dense(classes, layers::DenseOptions{.activation = "softmax", .kernel_initializer = "he_normal"})(x);
  return ks::Model(inputs, outputs, "resnet20_v1");
}

/// x / 255 minus the training set's mean image (Keras' example: subtract_pixel_mean).
void scale_and_center(ks::Tensor& train, ks::Tensor& test) {
  std::vector<float> tr = train.to_float().to_vector<float>(), te = test.to_float().to_vector<float>();
  const int64_t n = train.dim(0), pixels = train.numel() / n;
  std::vector<double> mean(static_cast<size_t>(pixels), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < pixels; ++p) mean[static_cast<size_t>(p)] += tr[static_cast<size_t>(i * pixels + p)] / 255.0;
  }
  for (double& m : mean) m /= static_cast<double>(n);
  auto apply = [&](std::vector<float>& v) {
    for (size_t k = 0; k < v.size(); ++k) v[k] = static_cast<float>(v[k] / 255.0 - mean[k % mean.size()]);
  };
  apply(tr);
  apply(te);
  train = ks::Tensor::from_vector(tr, train.shape());
  test = ks::Tensor::from_vector(te, test.shape());
}

}  // namespace

int main(int argc, char** argv) {
  const int epochs = argc > 1 ? std::atoi(argv[1]) : 1;
  const int64_t samples = argc > 2 ? std::atoll(argv[2]) : 50000;
  if (epochs < 1 || samples < 1) {
    std::fprintf(stderr, "usage: %s [epochs >= 1] [training images >= 1]\n", argv[0]);
    return 2;
  }
  try {
    auto [train, test] = ks::datasets::cifar10::load_data();
    const int64_t n = std::min<int64_t>(samples, train.x.dim(0));
    ks::Tensor x_train = train.x.slice(0, n), x_test = test.x;
    scale_and_center(x_train, x_test);

    ks::Model model = resnet20({32, 32, 3}, 10);
    model.summary();
    model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    ks::FitOptions fit;
    fit.epochs = epochs;
    fit.batch_size = 32;  // the Keras example's
    fit.validation_data = std::make_pair(ks::Tensors(x_test), ks::Tensors(test.y));
    model.fit(x_train, train.y.slice(0, n), fit);
    const ks::EvaluateResult score = model.evaluate(x_test, test.y, {.verbose = 0});
    std::printf("Test loss: %.4f\nTest accuracy: %.4f\n", score[0], score[1]);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cifar10_resnet20: %s\n", e.what());
    return 1;
  }
}
