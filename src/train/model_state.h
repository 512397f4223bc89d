// ModelState: everything behind a Sequential — layers, optimizer, loss, metrics, the step
// buffers — and the train/test steps that fit/evaluate run.
#pragma once

#include <memory>
#include <optional>
#include <random>
#include <functional>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "nn/layer.h"
#include "nn/optimizer.h"
#include "train/gradient_buckets.h"

namespace kerosene::train {

struct LossConfig {
  backends::LossKind kind = backends::LossKind::mean_squared_error;
  bool from_logits = false;
  std::string name;
};

struct MetricConfig {
  backends::MetricKind kind;
  std::string name;  // as the user wrote it: logs say "accuracy" when asked for "accuracy"
};

/// Loss and metric sums over the samples of one step.
struct StepTotals {
  double loss_sum = 0;
  std::vector<double> metric_sums;
  int64_t samples = 0;
};

/// Where a fit interrupted earlier goes on from (set by BackupAndRestore in on_train_begin,
/// consumed by fit): the epoch, the steps of it already done, and their loss/metric totals.
struct ResumePoint {
  int epoch = 0;
  int64_t step = 0;
  StepTotals totals;
};

}  // namespace kerosene::train

namespace kerosene::distribute {
class MirroredModel;
namespace detail {
struct StrategyState;
}
}  // namespace kerosene::distribute

namespace kerosene::train {

class ModelState {
 public:
  std::string name;
  std::vector<std::shared_ptr<nn::Layer>> layers;  // without the InputLayer
  std::optional<Shape> declared_input;             // from layers::Input
  Device device;
  bool compiled = false;
  std::shared_ptr<nn::Optimizer> optimizer;
  LossConfig loss;
  std::vector<MetricConfig> metrics;
  std::mt19937_64 rng;
  uint64_t seed = 0;
  /// Set when the model was created in a strategy's scope: its replicas, built on first use.
  std::shared_ptr<distribute::detail::StrategyState> strategy;
  std::shared_ptr<distribute::MirroredModel> mirrored;
  /// Set when fit was stopped from outside (the CLI's Ctrl-C), not by a callback's own decision:
  /// BackupAndRestore then keeps its backup for the next run. fit clears it when it starts.
  bool interrupted = false;
  /// Set by a callback's on_train_begin to resume an interrupted fit; fit clears it.
  std::optional<ResumePoint> resume;
  /// During fit: the running totals of the current epoch (what a mid-epoch backup saves).
  const StepTotals* epoch_totals = nullptr;

  bool built() const { return !layers.empty() && layers.front()->built(); }
  void build(const Shape& input);
  /// Builds the last layer on the output of the others (which are built): add() with a known
  /// input shape builds each layer once, as it arrives.
  void build_last();
  /// A new model seed (a restored run's): the generator and the dropout layers' default seeds
  /// follow it as if the model had been created with it. Weights are left alone.
  void reseed(uint64_t new_seed);
  Shape input_shape() const;
  Shape output_shape() const;
  /// The trainable variables, in layer order: what the optimizer updates.
  std::vector<nn::Variable*> variables();
  /// Every variable, non-trainable ones (moving statistics) included: Keras' model.weights.
  std::vector<nn::Variable*> weights();

  /// Runs the layers; returns the model's output for the batch.
  const Tensor& forward(const Tensor& x, bool training);
  /// One optimizer step on a batch.
  void train_step(const Tensor& x, const Tensor& y, StepTotals& totals);
  /// Loss and metrics on a batch, without updating anything.
  void test_step(const Tensor& x, const Tensor& y, StepTotals& totals);
  /// Called during backward with a bucket of variables whose gradients are complete (the last
  /// layers' first), so a replica can all-reduce them while earlier layers still run backward.
  /// `last`: the step's last bucket (the optimizer step follows).
  using GradientsReady = std::function<void(const std::vector<Tensor*>& gradients, bool last)>;

  /// train_step in two halves: queue the step's kernels (a GPU runs them while the host goes
  /// on, e.g. to assemble the next batch), then wait for its loss and metric sums (one copy).
  /// A replica passes the global batch (gradients are scaled by 1/global_batch, so summing
  /// them across replicas gives the whole batch's) and a hook that all-reduces each bucket.
  void queue_train_step(const Tensor& x, const Tensor& y, int64_t global_batch = 0,
                        const GradientsReady& ready = {});
  /// A replica with no rows in this step: zero gradients, the same buckets, the same update.
  void queue_empty_step(const GradientsReady& ready);
  void collect_step(StepTotals& totals);

  /// Whether the last layer's softmax/sigmoid is folded into the loss (as TensorFlow does).
  bool fuse_activation_into_loss() const;

 private:
  /// Queues the loss (and its gradient, scaled by 1/scale_batch) and the metrics; their sums
  /// land in stats_.
  void compute_loss(const Tensor& output, const Tensor& y, bool with_gradient, int64_t scale_batch = 0);
  /// Adds `layer`'s gradients to `bucket` and sends it when bucket_plan_ says so (the same
  /// buckets on every replica; the final one says `last`).
  void bucket_after_layer(int layer, std::vector<Tensor*>& bucket, const GradientsReady& ready);
  void build_layer(size_t i, const Shape& input);
  void index_variables();

  Tensor sample_loss_, grad_, correct_;
  Tensor stats_;              // on the device: [loss sum, metric sums...] of the queued step
  int64_t pending_batch_ = 0;  // samples of the queued step; 0 when none
  std::vector<nn::Variable*> variables_;
  int first_with_variables_ = 0;
  std::vector<BucketSend> bucket_plan_;  // plan_gradient_buckets, per layer
};

/// The seed set by utils::set_random_seed, if any.
std::optional<uint64_t> global_seed();

}  // namespace kerosene::train
