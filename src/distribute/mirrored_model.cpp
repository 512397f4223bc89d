#include "distribute/mirrored_model.h"

#include <exception>
#include <future>

#include "distribute/replica_barrier.h"
#include "distribute/replica_sums.h"
#include "kerosene/error.h"
#include "ops/ops.h"
#include "runtime/device_context.h"
#include "runtime/threading.h"

namespace kerosene::distribute {
namespace {

runtime::DeviceContext& context(const Device& d) { return runtime::Registry::instance().context(d); }

void from_host(Tensor& t, const std::vector<float>& values) {
  t.storage()->context->backend().copy_from_host(t.raw_data(), values.data(), t.nbytes());
}

}  // namespace

MirroredModel::MirroredModel(std::shared_ptr<detail::StrategyState> strategy, train::ModelState& primary)
    : strategy_(std::move(strategy)), primary_(primary), buffers_(strategy_->devices.size()) {}

MirroredModel::~MirroredModel() = default;

void MirroredModel::prepare() {
  if (!primary_.built()) return;  // fit, evaluate and predict build the model before this
  if (others_.empty()) {
    for (int r = 1; r < replicas(); ++r) {
      auto m = std::make_unique<train::ModelState>();
      m->name = primary_.name;
      m->device = strategy_->devices[static_cast<size_t>(r)];
      // Another seed, so each replica draws its own dropout masks; weights come from replica 0.
      m->seed = primary_.seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(r);
      primary_.copy_structure_to(*m);
      if (m->functional) {
        m->build_graph();
      } else {
        m->build(primary_.input_shape());
      }
      others_.push_back(std::move(m));
    }
    connect_cross_replica_sums();
  }
  // compile() may have run (again) since: every replica gets the loss, the metrics and its own
  // copy of the optimizer.
  if (primary_.compiled && compiled_with_ != primary_.optimizer.get()) {
    for (auto& m : others_) {
      m->compiled = true;
      m->optimizer = primary_.optimizer->clone();
      m->optimizer->follow_learning_rate_of(primary_.optimizer);  // a callback's change reaches every replica
      m->losses = primary_.losses;
      m->metrics = primary_.metrics;
    }
    compiled_with_ = primary_.optimizer.get();
  }
  // Replica 0's weights (worker 0's, across workers) to every replica.
  // Moving statistics too: each replica updates its own from its shard of the batch, and
  // replica 0's are the model's (saved, and handed to the others here at the next start).
  std::vector<nn::Variable*> source = primary_.weights();
  for (size_t i = 0; i < source.size(); ++i) {
    std::vector<float> values = source[i]->value.to_vector<float>();
    if (strategy_->num_workers > 1) {
      strategy_->collective->broadcast_host(values);
      from_host(source[i]->value, values);
    }
    for (auto& other : others_) from_host(other->weights()[i]->value, values);
  }
}

void MirroredModel::connect_cross_replica_sums() {
  for (int r = 0; r < replicas(); ++r) {
    auto sums = make_replica_sums(*strategy_->collective, r, in_train_step_);
    for (auto& node : replica(r).nodes) {
      if (!node.is_input()) node.layer->set_cross_replica_sum(sums);
    }
  }
}

void MirroredModel::copy_optimizer_state() {
  if (!primary_.compiled) return;
  for (auto& other : others_) other->optimizer->copy_state_from(*primary_.optimizer, other->variables());
}

std::pair<int64_t, int64_t> MirroredModel::share(int r, int64_t n) const {
  const int64_t k = replicas();
  return {n * r / k, n * (r + 1) / k};
}

void MirroredModel::run(const std::function<void(int)>& f) {
  auto& collective = *strategy_->collective;
  // CPU replicas share the machine's cores: each runs its ops on its own thread alone, rather
  // than taking the shared thread team from the other.
  const bool cpu_replicas = replicas() > 1 && !strategy_->devices[0].is_gpu();
  auto replica_task = [&](int r) {
    runtime::ScopedOpThreadsCap cap(cpu_replicas ? 1 : 0);
    try {
      f(r);
    } catch (const ReplicaAborted&) {
      throw;
    } catch (...) {
      collective.abort();
      throw;
    }
  };
  // Replicas 1.. on their devices' threads; replica 0 on this thread, which would otherwise
  // only wait (one hand-off less per step).
  std::vector<std::future<void>> done;
  for (int r = 1; r < replicas(); ++r) {
    done.push_back(context(strategy_->devices[static_cast<size_t>(r)]).worker().submit([&, r] { replica_task(r); }));
  }
  std::exception_ptr failure;
  try {
    replica_task(0);
  } catch (const ReplicaAborted&) {
  } catch (...) {
    failure = std::current_exception();
  }
  for (auto& d : done) {
    try {
      d.get();
    } catch (const ReplicaAborted&) {
    } catch (...) {
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) {
    collective.reset();
    std::rethrow_exception(failure);
  }
}

void MirroredModel::sum_across_workers(std::vector<train::StepTotals>& per_replica, train::StepTotals& totals) {
  train::StepTotals step;
  step.metric_sums.assign(primary_.running_sum_count(), 0.0);
  for (const auto& t : per_replica) {
    step.loss_sum += t.loss_sum;
    step.samples += t.samples;
    for (size_t i = 0; i < t.metric_sums.size(); ++i) step.metric_sums[i] += t.metric_sums[i];
  }
  if (strategy_->num_workers > 1) {
    std::vector<double> values{step.loss_sum, static_cast<double>(step.samples)};
    values.insert(values.end(), step.metric_sums.begin(), step.metric_sums.end());
    strategy_->collective->all_reduce_host(values);
    step.loss_sum = values[0];
    step.samples = static_cast<int64_t>(values[1]);
    for (size_t i = 0; i < step.metric_sums.size(); ++i) step.metric_sums[i] = values[i + 2];
  }
  totals.loss_sum += step.loss_sum;
  totals.samples += step.samples;
  totals.metric_sums.resize(step.metric_sums.size());
  for (size_t i = 0; i < step.metric_sums.size(); ++i) totals.metric_sums[i] += step.metric_sums[i];
}

void MirroredModel::train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const int64_t* rows,
                               int64_t n, int64_t global_batch, train::StepTotals& totals) {
  std::vector<train::StepTotals> per_replica(static_cast<size_t>(replicas()));
  // Layers sum across replicas only while every replica runs this step (see replica_sums.h).
  struct InStep {
    std::atomic<bool>& flag;
    explicit InStep(std::atomic<bool>& f) : flag(f) { flag.store(true, std::memory_order_release); }
    ~InStep() { flag.store(false, std::memory_order_release); }
  } in_step(in_train_step_);
  // Worker 0's learning rate on every worker, at every step: a callback may have set it on some
  // workers only (the replicas of a worker follow its replica 0, see prepare). A schedule needs
  // nothing: every worker evaluates it at the same step count.
  nn::Optimizer& optimizer = *primary_.optimizer;
  if (strategy_->num_workers > 1 && !optimizer.schedule) {
    std::vector<float> learning_rate{optimizer.learning_rate};
    strategy_->collective->broadcast_host(learning_rate);
    optimizer.learning_rate = learning_rate[0];
  }
  // Each replica's gradients are scaled by 1/global_batch, so their sum across every replica
  // of every worker is the gradient of the mean loss over the whole global batch.
  run([&](int r) {
    auto& model = replica(r);
    auto ready = [this, r](const std::vector<Tensor*>& bucket, bool last) {
      strategy_->collective->all_reduce(r, bucket, last);
    };
    const auto [begin, end] = share(r, n);
    if (begin == end) {
      model.queue_empty_step(ready);
      return;
    }
    auto& b = buffers_[static_cast<size_t>(r)];
    b.load(model.device, xs, &ys, rows + begin, end - begin);
    model.queue_train_step(b.x, b.y, global_batch, ready);
    model.collect_step(per_replica[static_cast<size_t>(r)]);
  });
  sum_across_workers(per_replica, totals);
}

void MirroredModel::test_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, const int64_t* rows,
                              int64_t n, train::StepTotals& totals) {
  std::vector<train::StepTotals> per_replica(static_cast<size_t>(replicas()));
  run([&](int r) {
    const auto [begin, end] = share(r, n);
    if (begin == end) return;
    auto& model = replica(r);
    auto& b = buffers_[static_cast<size_t>(r)];
    b.load(model.device, xs, &ys, rows + begin, end - begin);
    model.test_step(b.x, b.y, per_replica[static_cast<size_t>(r)]);
  });
  sum_across_workers(per_replica, totals);
}

void MirroredModel::predict(const std::vector<Tensor>& xs, const int64_t* rows, int64_t n,
                            const std::vector<float*>& outs) {
  run([&](int r) {
    const auto [begin, end] = share(r, n);
    if (begin == end) return;
    auto& model = replica(r);
    auto& b = buffers_[static_cast<size_t>(r)];
    b.load(model.device, xs, nullptr, rows + begin, end - begin);
    const std::vector<const Tensor*>& ys = model.forward(b.x, /*training=*/false);
    for (size_t o = 0; o < ys.size(); ++o) {
      const int64_t row_floats = ys[o]->numel() / ys[o]->dim(0);
      ys[o]->storage()->context->backend().copy_to_host(outs[o] + begin * row_floats, ys[o]->raw_data(), ys[o]->nbytes());
    }
  });
}

}  // namespace kerosene::distribute
