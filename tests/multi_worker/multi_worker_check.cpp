// kerosene_multi_worker_check: run under `mpirun -np N`. Trains a small CNN with
// MultiWorkerMirroredStrategy (global batch 64, no shuffling, dropout off), then trains the
// same model on one device, in this process, on the same global batches, and compares losses
// and weights. Exit 0 when they agree on every worker.
//
//   mpirun -np 2 build/kerosene_multi_worker_check
//   ... --die-at-step K    worker 1 kills itself (SIGKILL) at step K: the job must end, not hang
//   ... --hang-at-step K   worker 1 stops itself (SIGSTOP) at step K: the others must name it
//                          as lost within KEROSENE_COLLECTIVE_TIMEOUT seconds
#include <signal.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "kerosene/kerosene.h"

namespace ks = kerosene;

namespace {

ks::Sequential small_cnn() {
  return ks::Sequential({ks::layers::Input({8, 8, 1}), ks::layers::Conv2D(4, {3, 3}, "relu"),
                         ks::layers::MaxPooling2D({2, 2}), ks::layers::Flatten(), ks::layers::Dense(10, "softmax")});
}

}  // namespace

int main(int argc, char** argv) {
  int die_at = -1, hang_at = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--die-at-step") die_at = std::atoi(argv[i + 1]);
    if (arg == "--hang-at-step") hang_at = std::atoi(argv[i + 1]);
  }
  try {
    ks::distribute::MultiWorkerMirroredStrategy strategy;
    const int workers = strategy.num_workers(), rank = strategy.worker_index();
    const int64_t n = 512, global_batch = 64, per_worker = global_batch / workers;

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
    const auto history = model->fit(x, y, fit);

    // One device, same global batches: step k takes rows k*per_worker.. of every shard.
    std::vector<float> xr(xs.size());
    std::vector<int32_t> yr(ys.size());
    const int64_t shard = n / workers, steps = shard / per_worker;
    int64_t row = 0;
    for (int64_t k = 0; k < steps; ++k) {
      for (int w = 0; w < workers; ++w) {
        for (int64_t i = 0; i < per_worker; ++i, ++row) {
          const int64_t src = w * shard + k * per_worker + i;
          std::copy(xs.begin() + src * 64, xs.begin() + (src + 1) * 64, xr.begin() + row * 64);
          yr[static_cast<size_t>(row)] = ys[static_cast<size_t>(src)];
        }
      }
    }
    ks::Sequential reference = small_cnn();
    reference.set_weights(initial);
    reference.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
    const auto expected = reference.fit(ks::Tensor::from_vector(xr, {row, 8, 8, 1}), ks::Tensor::from_vector(yr, {row}), fit);

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
    std::printf("worker %d of %d: %s (%d replicas in sync, losses %.6f %.6f, weights within %.1e)\n", rank, workers,
                failures ? "FAIL" : "ok", strategy.num_replicas_in_sync(), history.history.at("loss")[0],
                history.history.at("loss")[1], worst);
    return failures ? 1 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kerosene_multi_worker_check: error: %s\n", e.what());
    ks::distribute::abort_all_workers(1);
  }
}
