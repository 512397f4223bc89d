// MirroredStrategy on logical CPU devices: two replicas with a global batch of 64 give the
// same losses and weights as one device with a batch of 64; uneven and empty shares of a batch;
// evaluate and predict; the strategy's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "mirrored_util.h"

namespace kerosene {
namespace {

using test_util::max_difference;
using test_util::mirrored_twin;
using test_util::run_in_fresh_process;
using test_util::split_cpu;

std::pair<Tensor, Tensor> small_images(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * 8 * 8));
  for (float& v : x) v = pixel(rng);
  std::vector<int32_t> y(static_cast<size_t>(n));
  for (auto& v : y) v = static_cast<int32_t>(rng() % 10);
  return {Tensor::from_vector(x, {n, 8, 8, 1}), Tensor::from_vector(y, {n})};
}

Sequential small_cnn() {
  return Sequential({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                     layers::Flatten(), layers::Dense(16, "relu"), layers::Dense(10, "softmax")});
}

/// Trains the same model on one device and mirrored on `devices`; checks they agree.
void expect_same_training(int64_t samples, int batch, const std::vector<std::string>& devices, const char* optimizer,
                          Sequential (*make)() = small_cnn) {
  auto [x, y] = small_images(samples, 7);
  utils::set_random_seed(3);
  Sequential single = make();
  const auto initial = single.get_weights();
  distribute::MirroredStrategy strategy(devices);
  FRESH_CHECK(strategy.num_replicas_in_sync() == static_cast<int>(devices.size()));
  Sequential mirrored = mirrored_twin(strategy, make, initial);
  FRESH_CHECK(mirrored.device() == Device::parse(devices[0]));
  single.compile(optimizers::get(optimizer), "sparse_categorical_crossentropy", {"accuracy"});
  mirrored.compile(optimizers::get(optimizer), "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions fit;
  fit.batch_size = batch;
  fit.epochs = 3;
  fit.verbose = 0;
  fit.shuffle = false;
  const History a = single.fit(x, y, fit);
  const History b = mirrored.fit(x, y, fit);
  for (const std::string& d : devices) {  // every replica really ran: its device holds its buffers
    FRESH_CHECK_MSG(config::experimental::get_memory_info(d).num_allocs > 0, d + " was never used");
  }
  for (const char* key : {"loss", "accuracy"}) {
    for (size_t e = 0; e < a.history.at(key).size(); ++e) {
      const double va = a.history.at(key)[e], vb = b.history.at(key)[e];
      FRESH_CHECK_MSG(std::fabs(va - vb) <= 1e-5 * std::max(1.0, std::fabs(va)),
                      std::string(key) + " of epoch " + std::to_string(e) + ": " + std::to_string(va) + " vs " +
                          std::to_string(vb));
    }
  }
  const double weights = max_difference(single.get_weights(), mirrored.get_weights());
  FRESH_CHECK_MSG(weights < 2e-5, "weights differ by " + std::to_string(weights));

  const auto ea = single.evaluate(x, y, {.batch_size = batch, .verbose = 0});
  const auto eb = mirrored.evaluate(x, y, {.batch_size = batch, .verbose = 0});
  FRESH_CHECK_MSG(std::fabs(ea.loss() - eb.loss()) < 1e-5, std::to_string(ea.loss()) + " vs " + std::to_string(eb.loss()));
  const double predictions = max_difference({single.predict(x, {.batch_size = batch})}, {mirrored.predict(x, {.batch_size = batch})});
  FRESH_CHECK_MSG(predictions < 1e-5, "predictions differ by " + std::to_string(predictions));
}

TEST(MirroredStrategyTest, TwoReplicasTrainAsOneDeviceWithTheGlobalBatch) {
  run_in_fresh_process([] {
    split_cpu(2);
    expect_same_training(256, 64, {"/CPU:0", "/CPU:1"}, "sgd");
  });
}

TEST(MirroredStrategyTest, AdamAndAnUnevenLastBatch) {
  run_in_fresh_process([] {
    split_cpu(3);
    expect_same_training(250, 64, {"/CPU:0", "/CPU:1", "/CPU:2"}, "adam");  // last batch: 58 rows over 3
  });
}

TEST(MirroredStrategyTest, TiledAndUntiledReplicasTrainAsOneDevice) {
  run_in_fresh_process([] {
    // Tiles of 10 rows where a step has 20 or more: replicas with 21-22 rows tile; in the last
    // batch (58 rows: 19, 19, 20) only the third does, and all three meet at the same all-reduce.
    ::setenv("KEROSENE_CPU_TILE_ROWS", "10", 1);
    split_cpu(3);
    expect_same_training(250, 64, {"/CPU:0", "/CPU:1", "/CPU:2"}, "adam");
    ::unsetenv("KEROSENE_CPU_TILE_ROWS");
  });
}

TEST(MirroredStrategyTest, ReplicasWithNoRowsInABatch) {
  run_in_fresh_process([] {
    split_cpu(3);
    expect_same_training(5, 2, {"/CPU:0", "/CPU:1", "/CPU:2"}, "adam");  // batches of 2 and 1 over 3 replicas
  });
}

TEST(MirroredStrategyTest, LayerNormalizationTrainsAsOneDevice) {
  run_in_fresh_process([] {
    split_cpu(2);
    expect_same_training(128, 32, {"/CPU:0", "/CPU:1"}, "adam", [] {
      return Sequential({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}), layers::Flatten(),
                         layers::LayerNormalization(), layers::Dense(10, "softmax")});
    });
  });
}

// Each replica normalizes with its own share's statistics (Keras' synchronized=False), so no
// equality with one device here: the moving statistics (no gradient, not all-reduced) must not
// get in the way of the gradient all-reduce, and replica 0's are the model's.
TEST(MirroredStrategyTest, BatchNormalizationTrainsWithPerReplicaStatistics) {
  run_in_fresh_process([] {
    split_cpu(2);
    auto [x, y] = small_images(64, 8);
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    std::optional<Sequential> model;
    {
      auto scope = strategy.scope();
      model.emplace(Sequential({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}),
                                layers::BatchNormalization({.momentum = 0.5}), layers::Flatten(),
                                layers::Dense(10, "softmax")}));
    }
    model->compile(optimizers::Adam(), "sparse_categorical_crossentropy");
    model->fit(x, y, {.batch_size = 16, .epochs = 2, .verbose = 0});
    const auto moving_mean = model->layers()[1].get_weights()[2].to_vector<float>();
    for (float m : moving_mean) FRESH_CHECK_MSG(std::isfinite(m) && m != 0.0f, "moving mean " + std::to_string(m));
    const double loss = model->evaluate(x, y, {.batch_size = 16, .verbose = 0}).loss();
    FRESH_CHECK_MSG(std::isfinite(loss), "evaluate loss " + std::to_string(loss));
  });
}

// No bias before the normalization (as Keras models have it): its true gradient is 0, and Adam
// would turn the rounding noise in it into full steps that differ between runs.
Sequential cnn_with_synchronized_batch_norm() {
  return Sequential({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}, layers::Conv2DOptions{.use_bias = false}),
                     layers::BatchNormalization({.momentum = 0.5, .synchronized = true}), layers::Flatten(),
                     layers::Dense(10, "softmax")});
}

// synchronized=true: the statistics of the global batch, the exact gradient of that
// normalization, the same moving statistics on every replica: training equals one device with
// the whole batch (losses, weights with the moving statistics, evaluate, predict).
TEST(MirroredStrategyTest, SynchronizedBatchNormalizationTrainsAsOneDevice) {
  run_in_fresh_process([] {
    split_cpu(2);
    expect_same_training(128, 32, {"/CPU:0", "/CPU:1"}, "adam", cnn_with_synchronized_batch_norm);
  });
}

TEST(MirroredStrategyTest, SynchronizedBatchNormalizationWithReplicasThatHaveNoRows) {
  run_in_fresh_process([] {
    split_cpu(3);
    // Batches of 2 and 1 over 3 replicas: the empty ones still take part in every sum.
    expect_same_training(5, 2, {"/CPU:0", "/CPU:1", "/CPU:2"}, "sgd", cnn_with_synchronized_batch_norm);
  });
}

// The same model unsynchronized (Keras' default): each replica normalizes its own share, which
// differs from the whole batch; this is what the test above would catch if sync did nothing.
TEST(MirroredStrategyTest, UnsynchronizedBatchNormalizationDiffersFromOneDevice) {
  run_in_fresh_process([] {
    split_cpu(2);
    auto make = [] {
      return Sequential({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}, layers::Conv2DOptions{.use_bias = false}),
                         layers::BatchNormalization({.momentum = 0.5}), layers::Flatten(),
                         layers::Dense(10, "softmax")});
    };
    auto [x, y] = small_images(64, 7);
    utils::set_random_seed(3);
    Sequential single = make();
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    Sequential mirrored = mirrored_twin(strategy, make, single.get_weights());
    for (Sequential* m : {&single, &mirrored}) m->compile(optimizers::SGD(), "sparse_categorical_crossentropy");
    const FitOptions fit{.batch_size = 32, .epochs = 1, .verbose = 0, .shuffle = false};
    single.fit(x, y, fit);
    mirrored.fit(x, y, fit);
    const double weights = max_difference(single.get_weights(), mirrored.get_weights());
    FRESH_CHECK_MSG(weights > 1e-4, "weights differ by only " + std::to_string(weights));
  });
}

TEST(MirroredStrategyTest, DefaultsToEveryLogicalCpuWithoutGpus) {
  run_in_fresh_process([] {
    split_cpu(2);
    distribute::MirroredStrategy strategy;
    const bool gpus = !config::list_logical_devices("GPU").empty();
    if (!gpus) {
      FRESH_CHECK(strategy.devices() == (std::vector<Device>{Device::parse("CPU:0"), Device::parse("CPU:1")}));
      FRESH_CHECK(strategy.reduction() == "in-process");
    }
    FRESH_CHECK(strategy.num_workers() == 1);
    FRESH_CHECK(strategy.worker_index() == 0);
    FRESH_CHECK(strategy.is_chief());
  });
}

TEST(MirroredStrategyTest, BadDeviceListsAreErrors) {
  run_in_fresh_process([] {
    split_cpu(2);
    FRESH_EXPECT_THROW(ValueError, distribute::MirroredStrategy({"/CPU:0", "CPU:0"}), "listed twice");
    FRESH_EXPECT_THROW(DeviceError, distribute::MirroredStrategy({"/CPU:0", "/CPU:7"}), "/CPU:7 does not exist");
    FRESH_EXPECT_THROW(ValueError, distribute::MirroredStrategy({"/XPU:0"}));
  });
}

TEST(MirroredStrategyTest, ModelsOutsideTheScopeAreNotMirrored) {
  run_in_fresh_process([] {
    split_cpu(2);
    distribute::MirroredStrategy strategy({"/CPU:1", "/CPU:0"});
    {
      auto scope = strategy.scope();
      FRESH_CHECK(Sequential({layers::Input({4}), layers::Dense(2)}).device() == Device::parse("CPU:1"));
    }
    FRESH_CHECK(Sequential({layers::Input({4}), layers::Dense(2)}).device() == Device());
  });
}

TEST(MirroredStrategyTest, AReplicaThatFailsStopsTheOthersWithItsError) {
  run_in_fresh_process([] {
    // /CPU:1 has room for the weights but not for a step's activations: its replica runs out of
    // memory in the middle of the step, while replica 0 waits for it at the gradient all-reduce.
    // (BatchNormalization keeps the step whole: a tiled step's activations would fit.)
    config::set_logical_device_configuration(config::list_physical_devices("CPU").at(0),
                                             {config::LogicalDeviceConfiguration{}, config::LogicalDeviceConfiguration{2}});
    auto [x, y] = small_images(512, 1);
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    std::optional<Sequential> model;
    {
      auto scope = strategy.scope();
      model.emplace(Sequential({layers::Input({8, 8, 1}), layers::Conv2D(64, {3, 3}, "relu"),
                                layers::BatchNormalization(), layers::Flatten(), layers::Dense(10, "softmax")}));
    }
    model->compile(optimizers::Adam(), "sparse_categorical_crossentropy");
    FRESH_EXPECT_THROW(ResourceExhaustedError, model->fit(x, y, {.batch_size = 512, .epochs = 1, .verbose = 0}),
                       "/CPU:1");
    // The strategy is usable again: with a batch that fits, training goes on.
    model->fit(x, y, {.batch_size = 16, .epochs = 1, .verbose = 0});
  });
}

TEST(MirroredStrategyGpuTest, TwoGpusTrainAsOne) {
  if (config::list_logical_devices("GPU").size() < 2) {
    GTEST_SKIP() << "needs two GPUs; this machine has " << config::list_logical_devices("GPU").size()
                 << " (kerosene doctor: " << doctor::diagnose().verdict << ")";
  }
  run_in_fresh_process([] { expect_same_training(256, 64, {"/GPU:0", "/GPU:1"}, "sgd"); });
}

}  // namespace
}  // namespace kerosene
