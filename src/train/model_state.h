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
#include "train/distribution.h"
#include "train/gradient_buckets.h"

namespace kerosene::train {

/// How a loss reduces its per-sample values to the batch's value (Keras' `reduction`).
/// "none" has no place in fit (the gradient needs one number) and is refused at compile.
enum class Reduction { sum_over_batch_size, sum };

/// The loss of one model output.
struct LossConfig {
  backends::LossKind kind = backends::LossKind::mean_squared_error;
  bool from_logits = false;
  std::string name;
  float weight = 1.0f;  // Keras' loss_weights: the model's loss is the weighted sum
  float label_smoothing = 0.0f;  // categorical and binary cross-entropy
  float delta = 1.0f;            // huber
  Reduction reduction = Reduction::sum_over_batch_size;
  /// Whether it was given as a loss object (losses::...): the compile config then writes the
  /// object, as Keras does, rather than its name.
  bool as_object = false;
};

/// How a metric's log value comes from its running sums (MetricConfig::slots or its counts).
enum class MetricResult {
  mean,       // sum / samples (accuracy, mae, mse; top-k's hit count)
  root_mean,  // sqrt(sum / samples): RootMeanSquaredError, the sum being per-sample mean squares
  ratio,      // sums[0] / sums[1], 0 when sums[1] is 0 (Precision: TP / (TP + FP); Recall)
  auc,        // Keras' AUC from the threshold buckets' counts
  f_beta,     // Keras' FBetaScore from each class's TP, FP, FN and label sum
  iou,        // Keras' IoU from the confusion matrix
};

/// The options of a metric given as an object (kerosene/metrics.h) or a spec with options, as
/// Keras' metric classes take them; the defaults are Keras'.
struct MetricParams {
  int k = 5;                                   // top-k
  int num_thresholds = 200;                    // AUC
  std::string curve = "ROC";                   // AUC: ROC or PR
  std::string summation_method = "interpolation";  // AUC: interpolation, minoring or majoring
  bool from_logits = false;                    // AUC
  std::string average;                         // F-beta: micro, macro or weighted (Keras' None refused)
  float beta = 1.0f;                           // F-beta
  std::optional<float> threshold;              // F-beta: none means the row's maximum is positive
  int num_classes = 0;                         // IoU
  std::vector<int> target_class_ids;           // IoU (MeanIoU: every class)
  std::optional<int> ignore_class;             // IoU
  bool sparse_y_true = true, sparse_y_pred = true;  // IoU
};

struct MetricConfig {
  /// The per-sample values whose sums over the batches the metric keeps, one running slot each
  /// (a mean has one; Precision the true positives and the predicted positives). The sums
  /// add across steps, replicas and workers, and a backup stores them, so the metric of any
  /// union of batches is exact.
  std::vector<backends::MetricKind> slots;
  std::string name;  // as the user wrote it: logs say "accuracy" when asked for "accuracy"
  int output = 0;    // the model output it reads
  /// Its key in the logs: the name, or "<output layer>_<name>" for a model with several outputs.
  std::string log_name;
  MetricResult result = MetricResult::mean;
  /// A metric that keeps a vector of counts (top-k, AUC, F-beta, IoU) rather than per-sample
  /// slots: its kernel's arguments, and how many counts (count_size, known once the output's
  /// width is). Its counts add across batches, replicas and workers as the slots' sums do.
  std::optional<backends::MetricCountArgs> counts;
  int64_t count_size = 0;
  MetricParams params;
  std::string keras_class;  // keras.metrics.<class>, for the compile config
  bool as_object = false;   // given as an object: the compile config writes the object, as Keras
  /// Keras' weighted_metrics: each slot's per-sample values times the sample's weight, and one
  /// more running sum after the slots, of the weights (the samples when none are given), which
  /// a mean divides by. (Not for counting metrics: compile refuses those.)
  bool weighted = false;
  /// How many running sums it keeps: its counts, or its slots and the weights' sum when weighted.
  size_t sum_count() const { return counts ? static_cast<size_t>(count_size) : slots.size() + (weighted ? 1 : 0); }
  /// Its log value from its sum_count() sums over `samples` samples.
  double value(const double* sums, int64_t samples) const;
};

/// Loss and metric sums over the samples of one step. metric_sums follow
/// ModelState::running_names(): each output's own loss (several outputs only), then each
/// metric's slots (ModelState::running_sum_count() in all).
struct StepTotals {
  double loss_sum = 0;  // of the model's loss (weighted over the outputs)
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

/// Where a training step's time goes, summed over the steps since profiling began: each graph
/// node's forward and backward, the loss (with the metrics) and the optimizer. The device is
/// synchronized around each part, so on a GPU it measures the kernels, not their queueing (and
/// profiling slows an asynchronous device down). Off unless a caller (the CLI's --profile, a
/// benchmark) turns it on.
struct StepProfile {
  /// Wall-clock and process CPU seconds of one part (CPU time: what the part cost the machine's
  /// cores, which a busy machine inflates far less than wall-clock time).
  struct Time {
    double wall = 0, cpu = 0;
  };
  bool enabled = false;
  int64_t steps = 0;
  std::vector<Time> forward, backward;  // per node (inputs: 0)
  Time loss, optimizer;
};

}  // namespace kerosene::train

namespace kerosene::train {

/// One call of a layer in the model's graph. Node 0.. are the model's inputs (no layer); the
/// others are in the order the layers were called, which is a topological order (a layer can
/// only be called on tensors that exist), so the graph cannot have a cycle.
struct Node {
  /// The layer computing this node: the layer itself at its first call; at a later call of a
  /// shared layer, a copy of it that has its own buffers and gradients but the first call's
  /// variable values (nn::Layer::share_variables_with).
  std::shared_ptr<nn::Layer> layer;
  std::vector<int> inputs;  // node indices
  int first_call = -1;      // for a later call of a shared layer: the node of its first call
  Shape shape;              // output shape of one sample
  std::string input_name;   // an input node's name (Keras' InputLayer)
  bool is_input() const { return layer == nullptr; }
};

}  // namespace kerosene::train

namespace kerosene::train {

class ModelState {
 public:
  std::string name;
  std::vector<std::shared_ptr<nn::Layer>> layers;  // without the InputLayer; each layer once
  std::optional<Shape> declared_input;             // from layers::Input
  /// The graph the layers run in: a chain for a Sequential (made by build), any DAG for a
  /// Functional model (made when it is constructed).
  std::vector<Node> nodes;
  std::vector<int> input_nodes, output_nodes;
  bool functional = false;
  /// A Functional model's layers as Keras orders model.layers (inputs included): each as the
  /// node of its first call. The order of the config's layers and of the weights file's groups.
  std::vector<int> keras_order;
  Device device;
  bool compiled = false;
  std::shared_ptr<nn::Optimizer> optimizer;
  std::vector<LossConfig> losses;  // one per output
  std::vector<MetricConfig> metrics;
  std::mt19937_64 rng;
  uint64_t seed = 0;
  /// Set when the model was created in a strategy's scope: the strategy, and the replicas it
  /// makes of this model (on first use).
  std::shared_ptr<Distribution> distribution;
  std::shared_ptr<Replicas> mirrored;
  /// Set when fit was stopped from outside (the CLI's Ctrl-C), not by a callback's own decision:
  /// BackupAndRestore then keeps its backup for the next run. fit clears it when it starts.
  bool interrupted = false;
  /// Set by a callback's on_train_begin to resume an interrupted fit; fit clears it.
  std::optional<ResumePoint> resume;
  /// During fit: the running totals of the current epoch (what a mid-epoch backup saves).
  const StepTotals* epoch_totals = nullptr;
  /// Per-part step times, when enabled (train steps only).
  StepProfile profile;

  bool built() const { return functional || (!layers.empty() && layers.front()->built()); }
  void build(const Shape& input);
  /// Builds a Functional model's graph (`nodes` set, layers unbuilt): each layer at its first
  /// call, a copy sharing its variables at each later call.
  void build_graph();
  /// This model's layers and graph, each layer cloned (unbuilt), into `replica`.
  void copy_structure_to(ModelState& replica) const;
  /// Builds the last layer on the output of the others (which are built): add() with a known
  /// input shape builds each layer once, as it arrives.
  void build_last();
  /// A new model seed (a restored run's): the generator and the dropout layers' default seeds
  /// follow it as if the model had been created with it. Weights are left alone.
  void reseed(uint64_t new_seed);
  /// The first input's and the first output's shape (one sample).
  Shape input_shape() const;
  Shape output_shape() const;
  std::vector<Shape> input_shapes() const;
  std::vector<Shape> output_shapes() const;
  /// Keras' names: each Input's name, and each output's layer name (the logs' prefixes).
  std::vector<std::string> input_names() const;
  std::vector<std::string> output_names() const;
  /// The running values after "loss" in the logs, in Keras' order: each output's loss (for a
  /// model with several outputs), then the metrics.
  std::vector<std::string> running_names() const;
  /// How many running sums a step adds (StepTotals::metric_sums): the outputs' own losses and
  /// every metric's slots.
  size_t running_sum_count() const;
  /// Their values from running totals (each metric's MetricConfig::value), in the same order.
  std::vector<double> running_values(const StepTotals& totals) const;
  /// Sets each counting metric's count_size from its output's width (compile, and build when
  /// compile came first).
  void size_metric_counts();
  /// The trainable variables, in layer order: what the optimizer updates.
  std::vector<nn::Variable*> variables();
  /// Every variable, non-trainable ones (moving statistics) included: Keras' model.weights.
  std::vector<nn::Variable*> weights();

  /// Runs the layers on a batch (one tensor per input); returns the model's outputs.
  const std::vector<const Tensor*>& forward(const std::vector<Tensor>& xs, bool training);
  /// The layer computing output `o` (the last layer of a Sequential).
  nn::Layer& output_layer(size_t o = 0) const;
  /// One optimizer step on a batch (ys: one target tensor per output, then optionally the
  /// samples' weights, a float32 (batch,) tensor that scales each sample's loss).
  void train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, StepTotals& totals);
  /// Loss and metrics on a batch, without updating anything.
  void test_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, StepTotals& totals);
  /// Called during backward with a bucket of variables whose gradients are complete (the last
  /// layers' first), so a replica can all-reduce them while earlier layers still run backward.
  /// `last`: the step's last bucket (the optimizer step follows).
  using GradientsReady = std::function<void(const std::vector<Tensor*>& gradients, bool last)>;

  /// train_step in two halves: queue the step's kernels (a GPU runs them while the host goes
  /// on, e.g. to assemble the next batch), then wait for its loss and metric sums (one copy).
  /// A replica passes the global batch (gradients are scaled by 1/global_batch, so summing
  /// them across replicas gives the whole batch's) and a hook that all-reduces each bucket.
  void queue_train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, int64_t global_batch = 0,
                        const GradientsReady& ready = {});
  /// A replica with no rows in this step: zero gradients, the same buckets, the same update.
  void queue_empty_step(const GradientsReady& ready);
  void collect_step(StepTotals& totals);

  /// Rows per tile of a training step on the CPU, 0 for an untiled step. A tiled step runs
  /// forward, loss and backward on a few rows at a time and sums the tiles' weight gradients
  /// before the one optimizer update: the same step (the loss's gradient is still over the whole
  /// batch), but each tile's activations stay in the cores' L2 caches between one layer and the
  /// next, where a whole batch of 128 MNIST images (11 MB after the first convolution) streams
  /// through memory at every op, which made the CNN's time per sample double from batch 16 to
  /// 128. A tile holds at least 8 times the weights' bytes in activations (each tile reads the
  /// weights again), so models whose weights outweigh their activations (a multilayer
  /// perceptron) run untiled, as do models with a layer that mixes samples (BatchNormalization).
  /// A CPU replica tiles by its own share of the batch and its one core. KEROSENE_CPU_TILE_ROWS=N
  /// sets the tile (0: never tile).
  int64_t tile_rows(int64_t batch) const;
  /// Plans the executor's layer fusion (train/layer_fusion.h) once the layers are built.
  void ensure_fusion_plan() const;
  /// Per node, the node the executor fused it into, or -1 (the plan it runs, made on first use).
  const std::vector<int>& fusion_plan() const {
    ensure_fusion_plan();
    return fused_into_;
  }

  /// Whether output o's softmax/sigmoid is folded into its loss (as TensorFlow does): when the
  /// loss takes probabilities and the output feeds no other layer.
  bool fuse_activation_into_loss(size_t o = 0) const;

 private:
  /// Queues each output's loss (and its gradient, scaled by weight/scale_batch) and the
  /// metrics; their sums land in stats_.
  void compute_loss(const std::vector<Tensor>& ys, bool with_gradient, int64_t scale_batch = 0);
  /// Adds the queued step's loss and metric sums to totals (one copy from the device).
  void read_stats(StepTotals& totals);
  /// The loss and its gradient (scaled by 1/scale_batch), timed as the step's loss part; adds
  /// the sums to `totals` where given.
  void loss_with_gradient(const std::vector<Tensor>& ys, int64_t scale_batch, StepTotals* totals);
  /// The optimizer's update, timed as the step's optimizer part.
  void apply_optimizer();
  /// queue_train_step's tiled form (tile_rows): forward, loss and backward tile by tile, the
  /// weight gradients summed, then the optimizer. A replica all-reduces the summed gradients
  /// once, after the last tile, in the buckets an untiled step sends (so replicas that tile and
  /// replicas that do not, with other shares of the batch, still meet at the same collectives).
  void tiled_train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, int64_t scale_batch,
                        int64_t tile, const GradientsReady& ready);
  /// Queues a counting metric's kernel on a batch, its counts into `slot` (metric_results.cpp);
  /// throws ValueError when the targets do not fit the metric.
  void queue_metric_counts(const MetricConfig& m, const Tensor& prediction, const Tensor& target, Tensor& slot);
  /// Adds `layer`'s gradients to `bucket` and sends it when bucket_plan_ says so (the same
  /// buckets on every replica; the final one says `last`).
  void bucket_after_node(int node, std::vector<Tensor*>& bucket, const GradientsReady& ready);
  void build_layer(size_t i, const Shape& input);
  void build_node(size_t i);

 public:
  /// Lists the trainable variables (for the optimizer) and plans the gradient buckets again:
  /// after build, and at compile, which is where a change of layer.trainable takes effect (as
  /// in Keras).
  void index_variables();

 private:
  /// Adds gradient g to what node t's output has received (several consumers add up).
  void add_gradient(int t, const Tensor* g);
  /// Runs backward from the gradient of the loss (w.r.t. the output, or the logits when fused).
  void backward(const GradientsReady& ready);

  Tensor sample_loss_, correct_;
  std::vector<Tensor> output_grads_;  // per output: the loss's gradient (w.r.t. the logits when fused)
  std::vector<const Tensor*> outputs_;  // per output: its value in the current step
  Tensor stats_;  // on the device: [each output's loss sum, metric sums...] of the queued step
  int64_t pending_batch_ = 0;  // samples of the queued step; 0 when none
  int64_t pending_scale_batch_ = 0;  // the batch its mean is over (a replica's: the global batch)
  std::vector<nn::Variable*> variables_;
  std::vector<const Tensor*> values_;  // per node: its output in the current step
  std::vector<const Tensor*> grads_;   // per node: the gradient w.r.t. its output
  std::vector<Tensor> grad_sums_;      // per node: where gradients from several consumers add up
  std::vector<bool> needs_grad_;       // per node: whether it or a node before it has variables
  /// per node: the node it is fused into (plan_relu_fusion's and plan_max_pool_fusion's, made at
  /// the first forward, when the layers know their device), or -1; relu_fused_ and
  /// max_pool_fused_ per node: whether its layer applies the ReLU (the pooling) after it.
  /// (Mutable: planned on first use, which tile_rows may be.)
  mutable std::vector<int> fused_into_;
  mutable std::vector<bool> relu_fused_, max_pool_fused_;
  std::vector<std::vector<int>> later_calls_;  // per node: a shared layer's later calls (first call only)
  std::vector<BucketSend> bucket_plan_;  // plan_gradient_buckets, per node
  std::vector<Tensor> tile_grad_sums_;   // per trainable variable: its gradient summed over the tiles
  StepTotals tiled_totals_;              // a tiled step's sums, for collect_step
  bool tiled_pending_ = false;
};

/// Orders a Functional model's layers as Keras' map_graph does (keras/src/ops/function.py):
/// by decreasing depth from the outputs, ties by the order a depth-first walk from the outputs
/// first meets them. Sets `keras_order` and puts `layers` in that order.
void order_layers_as_keras(ModelState& state);

/// A new model's state: its device (the strategy's first, the scope's, or the default one, as
/// TensorFlow places it) and its seed (from utils::set_random_seed when set).
std::unique_ptr<ModelState> new_model_state(const std::string& name);

/// The seed set by utils::set_random_seed, if any.
std::optional<uint64_t> global_seed();

}  // namespace kerosene::train
