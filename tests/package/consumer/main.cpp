// A program of your own that uses kerosene: a small model learns which side of a line a point
// is on, from synthetic data. Built by tests/package/package_test.sh against an installed
// kerosene (find_package), the source tree (add_subdirectory) and pkg-config.
#include <kerosene/kerosene.h>

#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <vector>

namespace ks = kerosene;

int main() {
  try {
    // 512 points in the square [-1, 1]^2; the label says whether x + y > 0.
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    const int n = 512;
    std::vector<float> points(2 * n);
    std::vector<int32_t> labels(n);
    for (int i = 0; i < n; ++i) {
      points[2 * i] = uniform(rng);
      points[2 * i + 1] = uniform(rng);
      labels[i] = points[2 * i] + points[2 * i + 1] > 0 ? 1 : 0;
    }
    auto x = ks::Tensor::from_vector(points, {n, 2});
    auto y = ks::Tensor::from_vector(labels, {n});

    ks::Sequential model({ks::layers::Input({2}), ks::layers::Dense(16, "relu"), ks::layers::Dense(2, "softmax")});
    model.compile(ks::optimizers::Adam({.learning_rate = 0.01f}), "sparse_categorical_crossentropy", {"accuracy"});
    auto history = model.fit(x, y, {.batch_size = 32, .epochs = 5, .verbose = 0});

    const auto& loss = history.history["loss"];
    const double accuracy = history.history["accuracy"].back();
    std::printf("kerosene %s: loss %.4f -> %.4f, accuracy %.3f\n", ks::config::build_info().kerosene_version.c_str(),
                loss.front(), loss.back(), accuracy);
    return loss.back() < loss.front() && accuracy > 0.8 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
