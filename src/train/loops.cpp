// fit, evaluate and predict: batching, callbacks, History, and the never-silent checks.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <iostream>
#include <numeric>

#include "data/batching.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"
#include "ops/ops.h"
#include "train/model_state.h"
#include "distribute/mirrored_model.h"
#include "distribute/sharding.h"
#include "train/batch_buffers.h"
#include "train/device_verdict.h"
#include "train/validation.h"

namespace kerosene {
namespace {

using Clock = std::chrono::steady_clock;

struct CallbackList {
  std::vector<CallbackPtr> all;
  CallbackList(Model* model, const std::vector<CallbackPtr>& user, int verbose, const CallbackParams& params) {
    if (verbose > 0) all.push_back(std::make_shared<callbacks::ProgbarLogger>(verbose));
    all.insert(all.end(), user.begin(), user.end());
    for (auto& c : all) {
      c->set_model(model);
      c->set_params(params);
    }
  }
  template <typename F>
  void each(F f) {
    for (auto& c : all) f(*c);
  }
};

/// The batches of one pass: row indices into the data and their batch boundaries.
struct BatchPlan {
  std::vector<int64_t> order;
  int64_t batch_size;
  int64_t rows() const { return static_cast<int64_t>(order.size()); }
  int64_t steps() const { return (rows() + batch_size - 1) / batch_size; }
};

void check_batch_size(int batch_size) {
  if (batch_size <= 0) throw ValueError("batch_size must be positive, got " + std::to_string(batch_size));
}

// Running means into logs. Training steps use no prefix, so no name is built per step.
void set_logs(Logs& logs, const train::ModelState& model, const train::StepTotals& t, const char* prefix) {
  const double count = static_cast<double>(std::max<int64_t>(t.samples, 1));
  const bool plain = prefix[0] == '\0';
  static const std::string kLoss = "loss";
  logs.set(plain ? kLoss : prefix + kLoss, t.loss_sum / count);
  for (size_t i = 0; i < model.metrics.size(); ++i) {
    const std::string& name = model.metrics[i].name;
    logs.set(plain ? name : prefix + name, t.metric_sums[i] / count);
  }
}

void require_compiled(const train::ModelState& s, const char* what) {
  if (!s.compiled) {
    throw RuntimeError(std::string("call compile(optimizer, loss, metrics) before ") + what + " on model \"" + s.name + "\"");
  }
}

/// The replicas of a model created in a strategy's scope (null otherwise), ready to run: built
/// on first use, with replica 0's weights copied to every replica.
distribute::MirroredModel* mirrored_of(train::ModelState& s) {
  if (!s.strategy) return nullptr;
  if (!s.mirrored) s.mirrored = std::make_shared<distribute::MirroredModel>(s.strategy, s);
  s.mirrored->prepare();
  return s.mirrored.get();
}

/// How the rows are shared by this job's workers (one worker without a strategy).
distribute::Sharding sharding_of(int64_t rows, const distribute::MirroredModel* mirrored) {
  return mirrored ? distribute::Sharding(rows, mirrored->strategy().num_workers, mirrored->strategy().worker_index)
                  : distribute::Sharding(rows, 1, 0);
}

/// This worker's part of a global batch (TensorFlow's semantics: batch_size is global).
int worker_batch(int global_batch, const distribute::MirroredModel* mirrored) {
  const int workers = mirrored ? mirrored->strategy().num_workers : 1;
  if (global_batch % workers != 0) {
    throw ValueError("batch_size " + std::to_string(global_batch) + " is the global batch and must be a multiple of "
                     "the " + std::to_string(workers) + " workers");
  }
  return global_batch / workers;
}

int worker_verbose(int verbose, const distribute::MirroredModel* mirrored) {
  return mirrored && !mirrored->strategy().chief ? 0 : verbose;
}

// Runs the test loop over (x, y) and returns the totals.
/// `steps`: as many as the largest shard needs (every worker runs the same steps).
train::StepTotals run_test(train::ModelState& s, const Tensor& x, const Tensor& y, int batch_size, int64_t steps,
                           CallbackList* callbacks, distribute::MirroredModel* mirrored) {
  BatchPlan plan{std::vector<int64_t>(x.dim(0)), batch_size};
  std::iota(plan.order.begin(), plan.order.end(), 0);
  train::BatchBuffers buffers;
  train::StepTotals totals;
  Logs logs;
  for (int64_t step = 0; step < steps; ++step) {
    if (callbacks) callbacks->each([&](Callback& c) { c.on_test_batch_begin(static_cast<int>(step), logs); });
    const auto [begin, count] = distribute::step_rows(plan.rows(), step, batch_size, false);
    const int64_t end = begin + count;
    if (mirrored) {
      mirrored->test_step(x, y, plan.order.data() + begin, end - begin, totals);
    } else {
      buffers.load(s.device, x, &y, plan.order.data() + begin, end - begin);
      s.test_step(buffers.x, buffers.y, totals);
    }
    set_logs(logs, s, totals, "");
    if (callbacks) callbacks->each([&](Callback& c) { c.on_test_batch_end(static_cast<int>(step), logs); });
  }
  return totals;
}

}  // namespace

History Model::fit(const Tensor& x_in, const Tensor& y_in, const FitOptions& o) {
  auto& s = *state_;
  require_compiled(s, "fit");
  check_batch_size(o.batch_size);
  if (o.epochs < 0 || o.initial_epoch < 0) throw ValueError("epochs and initial_epoch must be >= 0");
  if (!(o.validation_split >= 0.0f && o.validation_split < 1.0f)) {
    throw ValueError("validation_split must be in [0, 1), got " + std::to_string(o.validation_split));
  }
  Tensor x = train::conform_input(s, x_in, "x");
  Tensor y = train::conform_targets(s, x, y_in, "y");
  train::check_finite(x, "x");
  distribute::MirroredModel* mirrored = mirrored_of(s);
  const int batch_size = worker_batch(o.batch_size, mirrored);
  const int verbose = worker_verbose(o.verbose, mirrored);
  if (verbose > 0 && mirrored) {
    train::announce_replicas(mirrored->strategy().devices, mirrored->strategy().num_workers,
                             mirrored->strategy().collective->name());
  } else if (verbose > 0) {
    train::announce_device(s.device);
  }

  // Keras takes the validation split from the end of the data, before any shuffling.
  Tensor x_val, y_val;
  if (o.validation_data) {
    x_val = train::conform_input(s, o.validation_data->first, "validation_data.x");
    y_val = train::conform_targets(s, x_val, o.validation_data->second, "validation_data.y");
    train::check_finite(x_val, "validation_data.x");
  } else if (o.validation_split > 0.0f) {
    // The float as the user wrote it (0.2f -> 0.2, not 0.2000000030): Keras' split of 100 samples
    // at 0.2 is 80/20, which 1.0 - 0.2000000030 would make 79/21.
    double split = 0;
    char digits[32];
    const auto written = std::to_chars(digits, digits + sizeof digits, o.validation_split);
    std::from_chars(digits, written.ptr, split);
    const int64_t split_at = static_cast<int64_t>(std::floor(x.dim(0) * (1.0 - split)));
    if (split_at == 0 || split_at == x.dim(0)) {
      throw ValueError("validation_split=" + std::to_string(o.validation_split) + " of " + std::to_string(x.dim(0)) +
                       " samples leaves no training or no validation data");
    }
    x_val = x.slice(split_at, x.dim(0));
    y_val = y.slice(split_at, y.dim(0));
    x = x.slice(0, split_at);
    y = y.slice(0, split_at);
  }

  const auto sharding = sharding_of(x.dim(0), mirrored), val_sharding = sharding_of(x_val.defined() ? x_val.dim(0) : 0, mirrored);
  x = sharding.mine(x);
  y = sharding.mine(y);
  x_val = val_sharding.mine(x_val);
  y_val = val_sharding.mine(y_val);
  const int64_t val_steps = (val_sharding.largest() + batch_size - 1) / batch_size;
  BatchPlan plan{std::vector<int64_t>(x.dim(0)), batch_size};
  std::iota(plan.order.begin(), plan.order.end(), 0);
  const bool wrap = o.steps_per_epoch.has_value();
  const int64_t steps = o.steps_per_epoch ? *o.steps_per_epoch : (sharding.largest() + batch_size - 1) / batch_size;
  if (steps <= 0) throw ValueError("steps_per_epoch must be positive, got " + std::to_string(steps));

  CallbackList callbacks(this, o.callbacks, verbose, {o.epochs, static_cast<int>(steps), verbose});
  History history;
  Logs logs;
  train::BatchBuffers buffers;
  stop_training = false;
  s.interrupted = false;
  s.resume.reset();
  callbacks.each([&](Callback& c) { c.on_train_begin(logs); });
  // A callback (BackupAndRestore) may have restored an interrupted run: go on from its point.
  const std::optional<train::ResumePoint> resume = std::move(s.resume);
  s.resume.reset();
  if (resume && mirrored) {  // the restored weights and optimizer state to every replica
    mirrored->prepare();
    mirrored->copy_optimizer_state();
  }
  const int first_epoch = resume ? std::max(o.initial_epoch, resume->epoch) : o.initial_epoch;
  // Cleared however fit ends: the pointer is to this frame's totals.
  struct ClearOnExit {
    const train::StepTotals*& p;
    ~ClearOnExit() { p = nullptr; }
  } clear_epoch_totals{s.epoch_totals};
  // The host runs ahead of a device only when that device works asynchronously.
  const bool prefetch_useless = runtime::Registry::instance().context(s.device).backend().host_accessible();
  for (int epoch = first_epoch; epoch < o.epochs && !stop_training; ++epoch) {
    const auto epoch_start = Clock::now();
    // Epoch e's order depends only on the model's seed and e, so a fit resumed at epoch e
    // shuffles as the uninterrupted one did.
    if (o.shuffle) {
      std::iota(plan.order.begin(), plan.order.end(), 0);
      std::mt19937_64 shuffle_rng((s.seed ^ 0x5DEECE66Dull) + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(epoch));
      std::shuffle(plan.order.begin(), plan.order.end(), shuffle_rng);
    }
    logs.clear();
    callbacks.each([&](Callback& c) { c.on_epoch_begin(epoch, logs); });
    train::StepTotals totals;
    int64_t first_step = 0;
    if (resume && epoch == resume->epoch && resume->step > 0) {  // a mid-epoch backup
      first_step = std::min<int64_t>(resume->step, steps);
      totals = resume->totals;
      set_logs(logs, s, totals, "");
    }
    s.epoch_totals = &totals;
    // With steps_per_epoch beyond one pass, batches wrap around the data.
    auto load_batch = [&](int64_t step) {
      const int64_t begin = (step * batch_size) % plan.rows();
      buffers.load(s.device, x, &y, plan.order.data() + begin, std::min<int64_t>(begin + batch_size, plan.rows()) - begin);
    };
    bool prefetched = false;
    for (int64_t step = first_step; step < steps && !stop_training; ++step) {
      callbacks.each([&](Callback& c) { c.on_train_batch_begin(static_cast<int>(step), logs); });
      const double loss_before = totals.loss_sum;
      if (mirrored) {
        const auto [begin, count] = distribute::step_rows(plan.rows(), step, batch_size, wrap);
        mirrored->train_step(x, y, plan.order.data() + begin, count, distribute::global_rows(sharding, step, batch_size, wrap),
                             totals);
      } else {
        if (!prefetched) load_batch(step);
        s.queue_train_step(buffers.x, buffers.y);
        // On a device that runs asynchronously, the next batch is gathered and its copy queued
        // (behind this step's kernels, on the same stream) before waiting for this step's loss.
        prefetched = !prefetch_useless && step + 1 < steps;
        if (prefetched) load_batch(step + 1);
        s.collect_step(totals);
      }
      set_logs(logs, s, totals, "");
      callbacks.each([&](Callback& c) { c.on_train_batch_end(static_cast<int>(step), logs); });
      const double batch_loss = totals.loss_sum - loss_before;
      if (!std::isfinite(batch_loss) && !stop_training) {
        throw NumericError("the loss became " + std::string(std::isnan(batch_loss) ? "NaN" : "infinite") + " at epoch " +
                           std::to_string(epoch + 1) + ", batch " + std::to_string(step + 1) +
                           "; lower the learning rate, check the data and targets, or pass "
                           "callbacks::TerminateOnNaN to stop training without an error");
      }
    }
    if (x_val.defined()) {
      train::StepTotals val = run_test(s, x_val, y_val, batch_size, val_steps, nullptr, mirrored);
      set_logs(logs, s, val, "val_");
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    history.epoch.push_back(epoch);
    history.epoch_seconds.push_back(seconds);
    history.epoch_samples.push_back(totals.samples);
    for (const auto& [name, value] : logs.entries()) history.history[name].push_back(value);
    callbacks.each([&](Callback& c) { c.on_epoch_end(epoch, logs); });
  }
  callbacks.each([&](Callback& c) { c.on_train_end(logs); });
  return history;
}

EvaluateResult Model::evaluate(const Tensor& x_in, const Tensor& y_in, const EvaluateOptions& o) {
  auto& s = *state_;
  require_compiled(s, "evaluate");
  check_batch_size(o.batch_size);
  Tensor x = train::conform_input(s, x_in, "x");
  Tensor y = train::conform_targets(s, x, y_in, "y");
  train::check_finite(x, "x");
  distribute::MirroredModel* mirrored = mirrored_of(s);
  const int batch_size = worker_batch(o.batch_size, mirrored);
  const int verbose = worker_verbose(o.verbose, mirrored);
  const auto sharding = sharding_of(x.dim(0), mirrored);  // the totals are summed across workers
  x = sharding.mine(x);
  y = sharding.mine(y);
  const int steps = static_cast<int>((sharding.largest() + batch_size - 1) / batch_size);
  CallbackList callbacks(this, o.callbacks, verbose, {1, steps, verbose});
  Logs logs;
  callbacks.each([&](Callback& c) { c.on_test_begin(logs); });
  train::StepTotals totals = run_test(s, x, y, batch_size, steps, &callbacks, mirrored);
  set_logs(logs, s, totals, "");
  callbacks.each([&](Callback& c) { c.on_test_end(logs); });
  EvaluateResult result;
  for (const auto& entry : logs.entries()) result.values.push_back(entry);
  return result;
}

Tensor Model::predict(const Tensor& x_in, const PredictOptions& o) {
  auto& s = *state_;
  check_batch_size(o.batch_size);
  Tensor x = train::conform_input(s, x_in, "x");
  // Every worker predicts every row: predictions are not sharded.
  distribute::MirroredModel* mirrored = mirrored_of(s);
  const int verbose = worker_verbose(o.verbose, mirrored);
  BatchPlan plan{std::vector<int64_t>(x.dim(0)), o.batch_size};
  std::iota(plan.order.begin(), plan.order.end(), 0);
  CallbackList callbacks(this, o.callbacks, verbose, {1, static_cast<int>(plan.steps()), verbose});
  Tensor result = Tensor::empty(s.output_shape().with_batch(x.dim(0)), DType::float32, Device());
  const int64_t row_bytes = s.output_shape().numel() * static_cast<int64_t>(sizeof(float));
  train::BatchBuffers buffers;
  Logs logs;
  callbacks.each([&](Callback& c) { c.on_predict_begin(logs); });
  for (int64_t step = 0; step < plan.steps(); ++step) {
    callbacks.each([&](Callback& c) { c.on_predict_batch_begin(static_cast<int>(step), logs); });
    const int64_t begin = step * o.batch_size, end = std::min(begin + o.batch_size, plan.rows());
    char* rows_out = static_cast<char*>(result.raw_data()) + begin * row_bytes;
    if (mirrored) {
      mirrored->predict(x, plan.order.data() + begin, end - begin, reinterpret_cast<float*>(rows_out));
    } else {
      buffers.load(s.device, x, nullptr, plan.order.data() + begin, end - begin);
      const Tensor& out = s.forward(buffers.x, /*training=*/false);
      ops::backend_of("copy_to_host", out).copy_to_host(rows_out, out.raw_data(), static_cast<size_t>((end - begin) * row_bytes));
    }
    callbacks.each([&](Callback& c) { c.on_predict_batch_end(static_cast<int>(step), logs); });
  }
  callbacks.each([&](Callback& c) { c.on_predict_end(logs); });
  return result;
}

}  // namespace kerosene
