// A learning rate set by a callback during a mirrored fit reaches every replica: with
// LearningRateScheduler or ReduceLROnPlateau, two replicas on logical CPUs train as one device.
// (Each replica has its own optimizer; before the replicas followed replica 0's learning rate,
// the others kept the one compile gave them and the replicas drifted apart.)
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "mirrored_util.h"
#include "train/distribution.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using test_util::max_difference;
using test_util::mirrored_twin;
using test_util::run_in_fresh_process;
using test_util::split_cpu;

std::pair<Tensor, Tensor> regression_data(int64_t n) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n * 6)), y(static_cast<size_t>(n * 2));
  for (float& v : x) v = u(rng);
  for (float& v : y) v = u(rng);
  return {Tensor::from_vector(x, {n, 6}), Tensor::from_vector(y, {n, 2})};
}

Sequential small_mlp() { return Sequential({layers::Input({6}), layers::Dense(8, "tanh"), layers::Dense(2)}); }

void expect_mirrored_follows(const std::function<CallbackPtr()>& make_callback, const char* what) {
  split_cpu(2);
  auto [x, y] = regression_data(64);
  utils::set_random_seed(5);
  Sequential single = small_mlp();
  const auto initial = single.get_weights();
  distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
  Sequential mirrored = mirrored_twin(strategy, small_mlp, initial);
  single.compile(optimizers::SGD({.learning_rate = 0.2f, .momentum = 0.5f}), "mse");
  mirrored.compile(optimizers::SGD({.learning_rate = 0.2f, .momentum = 0.5f}), "mse");
  FitOptions fit;
  fit.batch_size = 16;
  fit.epochs = 4;
  fit.verbose = 0;
  fit.shuffle = false;
  fit.callbacks = {make_callback()};
  single.fit(x, y, fit);
  fit.callbacks = {make_callback()};
  mirrored.fit(x, y, fit);
  FRESH_CHECK_MSG(std::fabs(single.optimizer().learning_rate() - 0.2f) > 1e-3, std::string(what) + " changed nothing");
  FRESH_CHECK(single.optimizer().learning_rate() == mirrored.optimizer().learning_rate());
  const double weights = max_difference(single.get_weights(), mirrored.get_weights());
  FRESH_CHECK_MSG(weights < 2e-5, std::string(what) + ": weights differ by " + std::to_string(weights));
  // Replica 1 too: its learning rate and weights are replica 0's.
  train::Replicas& replicas = *mirrored.state().mirrored;
  FRESH_CHECK(replicas.replicas() == 2);
  train::ModelState& second = replicas.replica_model(1);
  FRESH_CHECK(second.optimizer->current_learning_rate() == mirrored.optimizer().learning_rate());
  std::vector<Tensor> second_weights;
  for (nn::Variable* v : second.weights()) second_weights.push_back(v->value);
  const double replica_gap = max_difference(mirrored.get_weights(), second_weights);
  FRESH_CHECK_MSG(replica_gap == 0.0, std::string(what) + ": replica 1 differs by " + std::to_string(replica_gap));
}

TEST(MirroredLearningRateTest, LearningRateSchedulerReachesEveryReplica) {
  run_in_fresh_process([] {
    expect_mirrored_follows(
        [] { return std::make_shared<callbacks::LearningRateScheduler>([](int epoch, double lr) { return epoch == 0 ? lr : lr * 0.3; }); },
        "LearningRateScheduler");
  });
}

TEST(MirroredLearningRateTest, ReduceLROnPlateauReachesEveryReplica) {
  run_in_fresh_process([] {
    // min_delta 10: no epoch counts as an improvement after the first, so it reduces every epoch.
    expect_mirrored_follows(
        [] {
          return std::make_shared<callbacks::ReduceLROnPlateau>(
              callbacks::ReduceLROnPlateau::Options{.monitor = "loss", .factor = 0.5, .patience = 1, .min_delta = 10});
        },
        "ReduceLROnPlateau");
  });
}

}  // namespace
}  // namespace kerosene
