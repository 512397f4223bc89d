// The counting metrics (AUC, top-k, F1, IoU) under MirroredStrategy on two logical CPU
// devices: each replica counts its share of the batch, the counts add up, and the values are
// those of one device (evaluate, with an uneven last batch, and fit's logs).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "mirrored_util.h"
#include "kerosene/metrics.h"

namespace kerosene {
namespace {

using test_util::mirrored_twin;
using test_util::run_in_fresh_process;
using test_util::split_cpu;

Sequential classifier() { return Sequential({layers::Input({5}), layers::Dense(6, "softmax")}); }

const std::vector<std::string> kMetrics = {metrics::AUC({.num_thresholds = 40}), "auc:curve=PR",
                                           metrics::TopKCategoricalAccuracy(2), metrics::F1Score("macro"),
                                           metrics::OneHotMeanIoU(6)};
const std::vector<const char*> kNames = {"auc", "auc_1", "top_k_categorical_accuracy", "f1_score",
                                         "one_hot_mean_io_u"};

TEST(MirroredMetrics, TwoReplicasCountAsOneDevice) {
  run_in_fresh_process([] {
    split_cpu(2);
    std::mt19937_64 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> xs(45 * 5);
    for (float& v : xs) v = normal(rng);
    std::vector<float> ys(45 * 6, 0.0f);  // one-hot labels
    for (size_t r = 0; r < 45; ++r) ys[r * 6 + rng() % 6] = 1.0f;
    const Tensor x = Tensor::from_vector(xs, {45, 5}), y = Tensor::from_vector(ys, {45, 6});
    utils::set_random_seed(6);
    Sequential single = classifier();
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    Sequential mirrored = mirrored_twin(strategy, classifier, single.get_weights());
    single.compile(optimizers::SGD({.learning_rate = 0.1f}), "categorical_crossentropy", kMetrics);
    mirrored.compile(optimizers::SGD({.learning_rate = 0.1f}), "categorical_crossentropy", kMetrics);
    const auto a = single.evaluate(x, y, {.batch_size = 16, .verbose = 0});
    const auto b = mirrored.evaluate(x, y, {.batch_size = 16, .verbose = 0});
    for (const char* name : kNames) {
      FRESH_CHECK_MSG(std::fabs(a[name] - b[name]) < 1e-9, std::string(name) + ": " + std::to_string(a[name]) +
                                                                 " on one device, " + std::to_string(b[name]) +
                                                                 " mirrored");
      FRESH_CHECK_MSG(a[name] > 0.0 && a[name] < 1.0, std::string(name) + " = " + std::to_string(a[name]));
    }
    const FitOptions fit{.batch_size = 16, .epochs = 2, .verbose = 0, .shuffle = false};
    const History ha = single.fit(x, y, fit), hb = mirrored.fit(x, y, fit);
    for (const char* name : kNames) {
      for (size_t e = 0; e < 2; ++e) {
        const double va = ha.history.at(name)[e], vb = hb.history.at(name)[e];
        FRESH_CHECK_MSG(std::fabs(va - vb) < 1e-6, std::string(name) + " of epoch " + std::to_string(e) + ": " +
                                                       std::to_string(va) + " vs " + std::to_string(vb));
      }
    }
  });
}

}  // namespace
}  // namespace kerosene
