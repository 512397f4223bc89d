// kerosene_multi_worker_check: run under `mpirun -np N`. Trains a small CNN with
// MultiWorkerMirroredStrategy (global batch 64, no shuffling, dropout off), then trains the
// same model on one device, in this process, on the same global batches, and compares losses
// and weights. Exit 0 when they agree on every worker.
//
//   mpirun -np 2 build/kerosene_multi_worker_check
//   ... --die-at-step K    worker 1 kills itself (SIGKILL) at step K: the job must end, not hang
//   ... --hang-at-step K   worker 1 stops itself (SIGSTOP) at step K: the others must name it
//                          as lost within KEROSENE_COLLECTIVE_TIMEOUT seconds
//   ... --batch-norm 1     the CNN has a BatchNormalization(synchronized=true): the global
//                          batch's statistics across workers, as the one device has them
//   ... --lr-schedule 1    worker 0 alone has a LearningRateScheduler (epoch e > 0: lr * 0.3):
//                          every worker must train at worker 0's learning rate, as the one
//                          device does with the same schedule
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kerosene/kerosene.h"

namespace ks = kerosene;

namespace {

bool g_batch_norm = false;

ks::Sequential small_cnn() {
  if (g_batch_norm) {
    // No bias before the normalization: its gradient is 0 up to rounding, which Adam would
    // turn into full steps that differ between the two runs.
    return ks::Sequential({ks::layers::Input({8, 8, 1}),
                           ks::layers::Conv2D(4, {3, 3}, ks::layers::Conv2DOptions{.use_bias = false}),
                           ks::layers::BatchNormalization({.momentum = 0.5, .synchronized = true}),
                           ks::layers::MaxPooling2D({2, 2}), ks::layers::Flatten(), ks::layers::Dense(10, "softmax")});
  }
  return ks::Sequential({ks::layers::Input({8, 8, 1}), ks::layers::Conv2D(4, {3, 3}, "relu"),
                         ks::layers::MaxPooling2D({2, 2}), ks::layers::Flatten(), ks::layers::Dense(10, "softmax")});
}

}  // namespace

int main(int argc, char** argv) {
  int die_at = -1, hang_at = -1;
  bool lr_schedule = false;
  int64_t n = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--die-at-step") die_at = std::atoi(argv[i + 1]);
    if (arg == "--hang-at-step") hang_at = std::atoi(argv[i + 1]);
    if (arg == "--samples") n = std::atoll(argv[i + 1]);
    if (arg == "--batch-norm") g_batch_norm = std::atoi(argv[i + 1]) != 0;
    if (arg == "--lr-schedule") lr_schedule = std::atoi(argv[i + 1]) != 0;
  }
  try {
    ks::distribute::MultiWorkerMirroredStrategy strategy;
    const int workers = strategy.num_workers(), rank = strategy.worker_index();
    const int64_t global_batch = 64, per_worker = global_batch / workers;

    // The same data on every worker; each trains on its shard [rank * n/workers, ...).
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    std::vector<float> xs(static_cast<size_t>(n * 64));
    for (float& v : xs) v = pixel(rng);
    std::vector<int32_t> ys(static_cast<size_t>(n));
    for (auto& v : ys) v = static_cast<int32_t>(rng() % 10);
    const auto x = ks::Tensor::from_vector(xs, {n, 8, 8, 1});
    const auto y = ks::Tensor::from_vector(ys, {n});

    ks::utils::set_random_seed(5);
    std::optional<ks::Sequential> model;
    {
      auto scope = strategy.scope();
      model.emplace(small_cnn());
    }
    const auto initial = model->get_weights();
    model->compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    ks::FitOptions fit;
    fit.batch_size = static_cast<int>(global_batch);
    fit.epochs = 2;
    fit.verbose = 0;
    fit.shuffle = false;
    if (rank == 1 && (die_at >= 0 || hang_at >= 0)) {
      auto fault = std::make_shared<ks::callbacks::LambdaCallback>();
      fault->on_batch_begin_fn = [&](int batch, const ks::Logs&) {
        if (batch == die_at) raise(SIGKILL);
        if (batch == hang_at) raise(SIGSTOP);
      };
      fit.callbacks.push_back(fault);
    }
    const auto schedule = [](int epoch, double lr) { return epoch == 0 ? lr : lr * 0.3; };
    if (lr_schedule && rank == 0) fit.callbacks.push_back(std::make_shared<ks::callbacks::LearningRateScheduler>(schedule));
    const auto history = model->fit(x, y, fit);

    // One device, the same global batches: worker w's shard is rows [n*w/W, n*(w+1)/W); step k
    // takes rows k*per_worker.. of every shard (fewer, or none, once a shard is used up).
    const auto shard_begin = [&](int64_t w) { return n * w / workers; };
    int64_t largest = 0;
    for (int w = 0; w < workers; ++w) largest = std::max(largest, shard_begin(w + 1) - shard_begin(w));
    const int64_t steps = (largest + per_worker - 1) / per_worker;
    ks::Sequential reference = small_cnn();
    reference.set_weights(initial);
    reference.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    ks::History expected;
    for (int epoch = 0; epoch < fit.epochs; ++epoch) {
      if (lr_schedule) {
        ks::Optimizer optimizer = reference.optimizer();
        optimizer.set_learning_rate(static_cast<float>(schedule(epoch, optimizer.learning_rate())));
      }
      double loss_sum = 0;
      int64_t seen = 0;
      for (int64_t k = 0; k < steps; ++k) {
        std::vector<float> xb;
        std::vector<int32_t> yb;
        for (int w = 0; w < workers; ++w) {
          const int64_t end = shard_begin(w + 1);
          for (int64_t src = shard_begin(w) + k * per_worker; src < std::min(end, shard_begin(w) + (k + 1) * per_worker); ++src) {
            xb.insert(xb.end(), xs.begin() + src * 64, xs.begin() + (src + 1) * 64);
            yb.push_back(ys[static_cast<size_t>(src)]);
          }
        }
        const int64_t rows = static_cast<int64_t>(yb.size());
        ks::FitOptions one = fit;
        one.batch_size = static_cast<int>(rows);  // the whole global batch in one step
        one.epochs = 1;
        one.callbacks.clear();
        const auto h = reference.fit(ks::Tensor::from_vector(xb, {rows, 8, 8, 1}), ks::Tensor::from_vector(yb, {rows}), one);
        loss_sum += h.history.at("loss")[0] * static_cast<double>(rows);
        seen += rows;
      }
      expected.history["loss"].push_back(loss_sum / static_cast<double>(seen));
    }

    int failures = 0;
    for (size_t e = 0; e < expected.history.at("loss").size(); ++e) {
      const double a = history.history.at("loss")[e], b = expected.history.at("loss")[e];
      if (std::fabs(a - b) > 1e-5 * std::max(1.0, std::fabs(b))) {
        std::fprintf(stderr, "worker %d: loss of epoch %zu: %.8f multi-worker vs %.8f one device\n", rank, e, a, b);
        ++failures;
      }
    }
    const auto got = model->get_weights(), want = reference.get_weights();
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      const auto a = got[i].to_vector<float>(), b = want[i].to_vector<float>();
      for (size_t j = 0; j < a.size(); ++j) worst = std::max(worst, static_cast<double>(std::fabs(a[j] - b[j])));
    }
    if (worst > 2e-5) {
      std::fprintf(stderr, "worker %d: weights differ by %.3g\n", rank, worst);
      ++failures;
    }
    if (lr_schedule && model->optimizer().learning_rate() != reference.optimizer().learning_rate()) {
      std::fprintf(stderr, "worker %d: learning rate %g, the one device's %g\n", rank, model->optimizer().learning_rate(),
                   reference.optimizer().learning_rate());
      ++failures;
    }
    std::printf("worker %d of %d: %s (%d replicas in sync, losses %.6f %.6f, weights within %.1e)\n", rank, workers,
                failures ? "FAIL" : "ok", strategy.num_replicas_in_sync(), history.history.at("loss")[0],
                history.history.at("loss")[1], worst);
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kerosene_multi_worker_check: error: %s\n", e.what());
    ks::distribute::abort_all_workers(1);
  }
}
