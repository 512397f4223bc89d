// Keras' train_on_batch, test_on_batch, predict_on_batch and model(x, training): one batch of
// every row given, through the same executor and replicas as fit, without its loop.
#include <numeric>

#include "kerosene/error.h"
#include "kerosene/model.h"
#include "ops/ops.h"
#include "train/batch_buffers.h"
#include "train/distribution.h"
#include "train/model_state.h"
#include "train/validation.h"

namespace kerosene {
namespace {

std::vector<int64_t> every_row(int64_t n) {
  std::vector<int64_t> rows(static_cast<size_t>(n));
  std::iota(rows.begin(), rows.end(), 0);
  return rows;
}

/// The replicas of a model made in a strategy's scope, ready (null otherwise). One batch is
/// split across this worker's replicas; across workers each would need its own batch, which
/// fit's sharding gives and a single call cannot.
train::Replicas* replicas_of(train::ModelState& s, const char* what) {
  if (!s.distribution) return nullptr;
  if (s.distribution->num_workers > 1) {
    throw ValueError(std::string(what) + " runs one batch on one worker; under MultiWorkerMirroredStrategy (" +
                     std::to_string(s.distribution->num_workers) + " workers) use fit and evaluate");
  }
  if (!s.mirrored) s.mirrored = s.distribution->mirror(s);
  s.mirrored->prepare();
  return s.mirrored.get();
}

EvaluateResult result_of(const train::ModelState& s, const train::StepTotals& t) {
  const double n = static_cast<double>(std::max<int64_t>(t.samples, 1));
  EvaluateResult result;
  result.values.emplace_back("loss", t.loss_sum / n);
  const std::vector<std::string> names = s.running_names();
  const std::vector<double> values = s.running_values(t);
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) result.values.emplace_back(names[i], values[i]);
  return result;
}

}  // namespace

EvaluateResult Model::train_on_batch(const Tensors& x_in, const Tensors& y_in) {
  auto& s = *state_;
  train::require_compiled(s, "train_on_batch");
  const std::vector<Tensor> x = train::conform_inputs(s, x_in, "x");
  const std::vector<Tensor> y = train::conform_targets(s, x[0].dim(0), y_in, "y");
  const int64_t n = x[0].dim(0);
  train::StepTotals totals;
  if (train::Replicas* replicas = replicas_of(s, "train_on_batch")) {
    const std::vector<int64_t> rows = every_row(n);
    replicas->train_step(x, y, rows.data(), n, n, totals);
  } else {
    train::BatchBuffers buffers;
    const std::vector<int64_t> rows = every_row(n);
    buffers.load(s.device, x, &y, rows.data(), n);
    s.queue_train_step(buffers.x, buffers.y);
    s.collect_step(totals);
  }
  return result_of(s, totals);
}

EvaluateResult Model::test_on_batch(const Tensors& x_in, const Tensors& y_in) {
  auto& s = *state_;
  train::require_compiled(s, "test_on_batch");
  const std::vector<Tensor> x = train::conform_inputs(s, x_in, "x");
  const std::vector<Tensor> y = train::conform_targets(s, x[0].dim(0), y_in, "y");
  const int64_t n = x[0].dim(0);
  const std::vector<int64_t> rows = every_row(n);
  train::StepTotals totals;
  if (train::Replicas* replicas = replicas_of(s, "test_on_batch")) {
    replicas->test_step(x, y, rows.data(), n, totals);
  } else {
    train::BatchBuffers buffers;
    buffers.load(s.device, x, &y, rows.data(), n);
    s.test_step(buffers.x, buffers.y, totals);
  }
  return result_of(s, totals);
}

std::vector<Tensor> Model::call(const Tensors& x_in, bool training) {
  auto& s = *state_;
  const std::vector<Tensor> x = train::conform_inputs(s, x_in, "x", /*require_finite=*/false);
  const int64_t n = x[0].dim(0);
  const std::vector<int64_t> rows = every_row(n);
  // On the model the user holds (replica 0 under a strategy: the replicas hold the same weights).
  train::BatchBuffers buffers;
  buffers.load(s.device, x, nullptr, rows.data(), n);
  std::vector<Tensor> out;
  for (const Tensor* y : s.forward(buffers.x, training)) {
    Tensor host = Tensor::empty(y->shape(), DType::float32, Device());
    ops::backend_of("copy_to_host", *y).copy_to_host(host.raw_data(), y->raw_data(), y->nbytes());
    out.push_back(std::move(host));
  }
  return out;
}

Tensor Model::predict_on_batch(const Tensors& x) {
  const auto& s = *state_;
  if (s.built() && s.output_nodes.size() > 1) {
    throw ValueError("model \"" + s.name + "\" has " + std::to_string(s.output_nodes.size()) +
                     " outputs; call(x) returns them all");
  }
  return call(x, /*training=*/false).front();
}

}  // namespace kerosene
