// Real image data for the tests that need it, found the way a user's program finds it, so that
// the suite passes in a fresh clone with nothing beside it: MNIST where it is kept, else
// Fashion-MNIST from Debian's dataset-fashion-mnist (which scripts/setup.sh installs). Tests
// that need MNIST's own values (its label histogram) use data_testing::mnist_directory() and
// skip without it.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kerosene/datasets.h"

namespace kerosene::test_util {

struct RealData {
  std::string name;  ///< "mnist" or "fashion_mnist"
  std::string path;  ///< a directory of the four IDX files, or a .npz file
  // What the classic Keras models reach on it (test accuracy), a margin below what was measured
  // with seeds 1-3: MNIST 0.955 / 0.927 / over 0.8, Fashion-MNIST 0.840-0.849 / 0.811-0.815 /
  // 0.690-0.734.
  double mlp_one_epoch;     ///< Dense(128) MLP, one epoch on the whole training set
  double cnn_10k_samples;   ///< Conv2D(32) CNN, one epoch on 10,000 training samples
  double mlp_50_steps;      ///< the MLP after 50 batches of 32
};

/// The first of: $KEROSENE_TEST_DATA (or its mnist/), $KEROSENE_DATASETS/mnist,
/// ../shared/datasets/mnist beside the source tree, the rest of the library's search for MNIST
/// (Keras' cache, /usr/share/datasets/mnist), then the library's search for Fashion-MNIST.
/// nullopt when none exists.
inline const std::optional<RealData>& real_data() {
  static const std::optional<RealData> found = []() -> std::optional<RealData> {
    namespace fs = std::filesystem;
    auto exists = [](const std::string& p) {
      std::error_code ec;
      return !p.empty() && fs::exists(p, ec);
    };
    std::vector<std::string> mnist;
    if (const char* dir = std::getenv("KEROSENE_TEST_DATA"); dir != nullptr && *dir != '\0') {
      mnist.push_back(fs::is_directory(fs::path(dir) / "mnist") ? (fs::path(dir) / "mnist").string() : dir);
    }
    const std::vector<std::string> searched = datasets::search_paths("mnist");
    const bool has_env = std::getenv("KEROSENE_DATASETS") != nullptr && *std::getenv("KEROSENE_DATASETS") != '\0';
    for (size_t i = 0; i < searched.size(); ++i) {
      if (i == (has_env ? 1u : 0u)) mnist.push_back(KEROSENE_SOURCE_DIR "/../shared/datasets/mnist");
      mnist.push_back(searched[i]);
    }
    for (const std::string& p : mnist) {
      if (exists(p)) return RealData{"mnist", p, 0.95, 0.90, 0.6};
    }
    for (const std::string& p : datasets::search_paths("fashion_mnist")) {
      if (exists(p)) return RealData{"fashion_mnist", p, 0.80, 0.75, 0.55};
    }
    return std::nullopt;
  }();
  return found;
}

}  // namespace kerosene::test_util

/// Skips the test, saying why, when no real dataset is on this machine.
#define KEROSENE_REQUIRE_REAL_DATA()                                                                    \
  if (!kerosene::test_util::real_data()) {                                                              \
    GTEST_SKIP() << "no MNIST or Fashion-MNIST on this machine (apt-get install dataset-fashion-mnist, " \
                    "or set KEROSENE_DATASETS)";                                                        \
  }
