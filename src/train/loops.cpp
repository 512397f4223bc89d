// fit, evaluate and predict: batching, callbacks, History, and the never-silent checks.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <climits>
#include <cmath>
#include <iostream>
#include <numeric>

#include "data/batching.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"
#include "ops/ops.h"
#include "train/model_state.h"
#include "train/batch_buffers.h"
#include "train/distribution.h"
#include "train/sharding.h"
#include "train/step_profile.h"
#include "train/device_verdict.h"
#include "train/validation.h"

namespace kerosene {
namespace {

using Clock = std::chrono::steady_clock;

struct CallbackList {
  std::vector<CallbackPtr> all;
  CallbackList(Model* model, const std::vector<CallbackPtr>& user, int verbose, const CallbackParams& params) {
    // As Keras' CallbackList: a ProgbarLogger of the user's replaces the default one, which
    // otherwise comes after the user's callbacks (so their epoch-end messages precede the bar's).
    const bool user_bar = std::any_of(user.begin(), user.end(), [](const CallbackPtr& c) {
      return dynamic_cast<const callbacks::ProgbarLogger*>(c.get()) != nullptr;
    });
    all = user;
    if (verbose > 0 && !user_bar) all.push_back(std::make_shared<callbacks::ProgbarLogger>(verbose));
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
  const std::vector<std::string> names = model.running_names();
  const std::vector<double> values = model.running_values(t);
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) logs.set(plain ? names[i] : prefix + names[i], values[i]);
}

/// The replicas of a model created in a strategy's scope (null otherwise), ready to run: built
/// on first use, with replica 0's weights copied to every replica.
train::Replicas* mirrored_of(train::ModelState& s) {
  if (!s.distribution) return nullptr;
  if (!s.mirrored) s.mirrored = s.distribution->mirror(s);
  s.mirrored->prepare();
  return s.mirrored.get();
}

/// How the rows are shared by this job's workers (one worker without a strategy).
train::Sharding sharding_of(int64_t rows, const train::ModelState& s) {
  return s.distribution ? train::Sharding(rows, s.distribution->num_workers, s.distribution->worker_index)
                        : train::Sharding(rows, 1, 0);
}

/// This worker's part of a global batch (TensorFlow's semantics: batch_size is global).
int worker_batch(int global_batch, const train::ModelState& s) {
  const int workers = s.distribution ? s.distribution->num_workers : 1;
  if (global_batch % workers != 0) {
    throw ValueError("batch_size " + std::to_string(global_batch) + " is the global batch and must be a multiple of "
                     "the " + std::to_string(workers) + " workers");
  }
  return global_batch / workers;
}

int worker_verbose(int verbose, const train::ModelState& s) {
  return s.distribution && !s.distribution->chief ? 0 : verbose;
}

std::vector<Tensor> slice_all(const std::vector<Tensor>& ts, int64_t begin, int64_t end) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(t.slice(begin, end));
  return out;
}

std::vector<Tensor> mine(const train::Sharding& sharding, const std::vector<Tensor>& ts) {
  std::vector<Tensor> out;
  for (const Tensor& t : ts) out.push_back(sharding.mine(t));
  return out;
}

// Runs the test loop over (x, y) and returns the totals.
/// `steps`: as many as the largest shard needs (every worker runs the same steps).
train::StepTotals run_test(train::ModelState& s, const std::vector<Tensor>& x, const std::vector<Tensor>& y,
                           int batch_size, int64_t steps, CallbackList* callbacks, train::Replicas* mirrored) {
  BatchPlan plan{std::vector<int64_t>(x[0].dim(0)), batch_size};
  std::iota(plan.order.begin(), plan.order.end(), 0);
  train::BatchBuffers buffers;
  train::StepTotals totals;
  Logs logs;
  for (int64_t step = 0; step < steps; ++step) {
    if (callbacks) callbacks->each([&](Callback& c) { c.on_test_batch_begin(static_cast<int>(step), logs); });
    const auto [begin, count] = train::step_rows(plan.rows(), step, batch_size, false);
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


History Model::fit(const Tensors& x_in, const Tensors& y_in, const FitOptions& o) {
  auto& s = *state_;
  train::require_compiled(s, "fit");
  check_batch_size(o.batch_size);
  if (o.epochs < 0 || o.initial_epoch < 0) throw ValueError("epochs and initial_epoch must be >= 0");
  if (!(o.validation_split >= 0.0f && o.validation_split < 1.0f)) {
    throw ValueError("validation_split must be in [0, 1), got " + std::to_string(o.validation_split));
  }
  if (o.validation_freq < 1) throw ValueError("validation_freq must be >= 1, got " + std::to_string(o.validation_freq));
  if (o.validation_batch_size) check_batch_size(*o.validation_batch_size);
  if (o.validation_steps && *o.validation_steps <= 0) {
    throw ValueError("validation_steps must be positive, got " + std::to_string(*o.validation_steps));
  }
  if (o.sample_weight.defined() && !o.class_weight.empty()) {
    throw ValueError("fit takes class_weight or sample_weight, not both (as Keras)");
  }
  std::vector<Tensor> x = train::conform_inputs(s, x_in, "x");
  std::vector<Tensor> y = train::conform_targets(s, x[0].dim(0), y_in, "y");
  // The samples' weights travel as one more target (after the model's), so batching, sharding
  // and validation_split treat them as the targets.
  if (o.sample_weight.defined()) y.push_back(train::conform_sample_weight(o.sample_weight, x[0].dim(0), "sample_weight"));
  train::Replicas* mirrored = mirrored_of(s);
  const int batch_size = worker_batch(o.batch_size, s);
  const int val_batch_size = o.validation_batch_size ? worker_batch(*o.validation_batch_size, s) : batch_size;
  const int verbose = worker_verbose(o.verbose, s);
  // Where training runs is logged at every fit whatever `verbose` is (KEROSENE_MIN_LOG_LEVEL
  // silences it); by the chief alone, as the progress bar, so a job logs it once.
  const bool chief = !s.distribution || s.distribution->chief;
  if (chief && mirrored) {
    train::announce_replicas(s.distribution->devices, s.distribution->num_workers, s.distribution->reduction());
  } else if (chief) {
    train::announce_device(s.device);
  }

  // Keras takes the validation split from the end of the data, before any shuffling.
  std::vector<Tensor> x_val, y_val;
  if (o.validation_data) {
    x_val = train::conform_inputs(s, o.validation_data->first, "validation_data.x");
    y_val = train::conform_targets(s, x_val[0].dim(0), o.validation_data->second, "validation_data.y");
  } else if (o.validation_split > 0.0f) {
    // The float as the user wrote it (0.2f -> 0.2, not 0.2000000030): Keras' split of 100 samples
    // at 0.2 is 80/20, which 1.0 - 0.2000000030 would make 79/21.
    double split = 0;
    char digits[32];
    const auto written = std::to_chars(digits, digits + sizeof digits, o.validation_split);
    std::from_chars(digits, written.ptr, split);
    const int64_t rows = x[0].dim(0);
    const int64_t split_at = static_cast<int64_t>(std::floor(rows * (1.0 - split)));
    if (split_at == 0 || split_at == rows) {
      throw ValueError("validation_split=" + std::to_string(o.validation_split) + " of " + std::to_string(rows) +
                       " samples leaves no training or no validation data");
    }
    x_val = slice_all(x, split_at, rows);
    y_val = slice_all(y, split_at, rows);
    x = slice_all(x, 0, split_at);
    y = slice_all(y, 0, split_at);
  }
  // Keras weighs the training samples alone by class (after the split).
  if (!o.class_weight.empty()) y.push_back(train::class_weight_to_sample_weights(s, o.class_weight, y));

  const auto sharding = sharding_of(x[0].dim(0), s);
  const auto val_sharding = sharding_of(x_val.empty() ? 0 : x_val[0].dim(0), s);
  x = mine(sharding, x);
  y = mine(sharding, y);
  x_val = mine(val_sharding, x_val);
  y_val = mine(val_sharding, y_val);
  const int64_t val_steps = std::min<int64_t>((val_sharding.largest() + val_batch_size - 1) / val_batch_size,
                                              o.validation_steps.value_or(INT32_MAX));
  BatchPlan plan{std::vector<int64_t>(x[0].dim(0)), batch_size};
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
  train::begin_step_profile(s);
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
    logs.clear();  // Keras passes on_epoch_begin no logs: what callbacks add there is dropped
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
    size_t fit_entries = logs.entries().size();  // the logs' entries fit set, before the callbacks'
    for (int64_t step = first_step; step < steps && !stop_training; ++step) {
      callbacks.each([&](Callback& c) { c.on_train_batch_begin(static_cast<int>(step), logs); });
      const double loss_before = totals.loss_sum;
      if (mirrored) {
        const auto [begin, count] = train::step_rows(plan.rows(), step, batch_size, wrap);
        mirrored->train_step(x, y, plan.order.data() + begin, count, train::global_rows(sharding, step, batch_size, wrap),
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
      logs.truncate(fit_entries);  // fresh logs: without what callbacks added to the last batch's
      set_logs(logs, s, totals, "");
      fit_entries = logs.entries().size();
      callbacks.each([&](Callback& c) { c.on_train_batch_end(static_cast<int>(step), logs); });
      const double batch_loss = totals.loss_sum - loss_before;
      if (!std::isfinite(batch_loss) && !stop_training) {
        throw NumericError("the loss became " + std::string(std::isnan(batch_loss) ? "NaN" : "infinite") + " at epoch " +
                           std::to_string(epoch + 1) + ", batch " + std::to_string(step + 1) +
                           "; lower the learning rate, check the data and targets, or pass "
                           "callbacks::TerminateOnNaN to stop training without an error");
      }
    }
    logs.truncate(fit_entries);  // the epoch's logs: the metrics, without the last batch's additions
    if (!x_val.empty() && (epoch + 1) % o.validation_freq == 0) {
      train::StepTotals val = run_test(s, x_val, y_val, val_batch_size, val_steps, nullptr, mirrored);
      set_logs(logs, s, val, "val_");
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    callbacks.each([&](Callback& c) { c.on_epoch_end(epoch, logs); });
    // Keras' History comes after the user's callbacks: it records what they added ("learning_rate").
    history.epoch.push_back(epoch);
    history.epoch_seconds.push_back(seconds);
    history.epoch_samples.push_back(totals.samples);
    for (const auto& [name, value] : logs.entries()) history.history[name].push_back(value);
  }
  // Keras' finalize_variable_values (with use_ema, the variables take their moving averages),
  // on every replica, before on_train_end.
  if (o.epochs > 0) {
    for (int r = 0; r < (mirrored ? mirrored->replicas() : 1); ++r) {
      train::ModelState& m = mirrored ? mirrored->replica_model(r) : s;
      m.optimizer->finalize_variable_values(m.variables());
    }
  }
  train::end_step_profile(s);
  callbacks.each([&](Callback& c) { c.on_train_end(logs); });
  return history;
}

EvaluateResult Model::evaluate(const Tensors& x_in, const Tensors& y_in, const EvaluateOptions& o) {
  auto& s = *state_;
  train::require_compiled(s, "evaluate");
  check_batch_size(o.batch_size);
  std::vector<Tensor> x = train::conform_inputs(s, x_in, "x");
  std::vector<Tensor> y = train::conform_targets(s, x[0].dim(0), y_in, "y");
  if (o.sample_weight.defined()) y.push_back(train::conform_sample_weight(o.sample_weight, x[0].dim(0), "sample_weight"));
  train::Replicas* mirrored = mirrored_of(s);
  const int batch_size = worker_batch(o.batch_size, s);
  const int verbose = worker_verbose(o.verbose, s);
  const auto sharding = sharding_of(x[0].dim(0), s);  // the totals are summed across workers
  x = mine(sharding, x);
  y = mine(sharding, y);
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

std::vector<Tensor> Model::predict_outputs(const Tensors& x_in, const PredictOptions& o) {
  auto& s = *state_;
  check_batch_size(o.batch_size);
  const std::vector<Tensor> x = train::conform_inputs(s, x_in, "x", /*require_finite=*/false);
  // Every worker predicts every row: predictions are not sharded.
  train::Replicas* mirrored = mirrored_of(s);
  const int verbose = worker_verbose(o.verbose, s);
  BatchPlan plan{std::vector<int64_t>(x[0].dim(0)), o.batch_size};
  std::iota(plan.order.begin(), plan.order.end(), 0);
  CallbackList callbacks(this, o.callbacks, verbose, {1, static_cast<int>(plan.steps()), verbose});
  std::vector<Tensor> results;
  std::vector<int64_t> row_floats;
  for (const Shape& shape : s.output_shapes()) {
    results.push_back(Tensor::empty(shape.with_batch(plan.rows()), DType::float32, Device()));
    row_floats.push_back(shape.numel());
  }
  train::BatchBuffers buffers;
  Logs logs;
  std::vector<float*> rows_out(results.size());
  callbacks.each([&](Callback& c) { c.on_predict_begin(logs); });
  for (int64_t step = 0; step < plan.steps(); ++step) {
    callbacks.each([&](Callback& c) { c.on_predict_batch_begin(static_cast<int>(step), logs); });
    const int64_t begin = step * o.batch_size, end = std::min(begin + o.batch_size, plan.rows());
    for (size_t k = 0; k < results.size(); ++k) rows_out[k] = results[k].data<float>() + begin * row_floats[k];
    if (mirrored) {
      mirrored->predict(x, plan.order.data() + begin, end - begin, rows_out);
    } else {
      buffers.load(s.device, x, nullptr, plan.order.data() + begin, end - begin);
      const std::vector<const Tensor*>& outs = s.forward(buffers.x, /*training=*/false);
      for (size_t k = 0; k < outs.size(); ++k) {
        ops::backend_of("copy_to_host", *outs[k]).copy_to_host(rows_out[k], outs[k]->raw_data(), outs[k]->nbytes());
      }
    }
    callbacks.each([&](Callback& c) { c.on_predict_batch_end(static_cast<int>(step), logs); });
  }
  callbacks.each([&](Callback& c) { c.on_predict_end(logs); });
  return results;
}

Tensor Model::predict(const Tensors& x, const PredictOptions& o) {
  const auto& s = *state_;
  if (s.built() && s.output_nodes.size() > 1) {
    throw ValueError("model \"" + s.name + "\" has " + std::to_string(s.output_nodes.size()) +
                     " outputs; predict_outputs returns them all");
  }
  return predict_outputs(x, o).front();
}

}  // namespace kerosene
