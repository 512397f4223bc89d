#include "train/model_state.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <unistd.h>
#include <cmath>
#include <map>

#include "kerosene/error.h"
#include "nn/simple_layers.h"
#include "ops/ops.h"
#include "runtime/device_context.h"
#include "runtime/threading.h"
#include "train/layer_fusion.h"

namespace kerosene::train {

void ModelState::build(const Shape& input) {
  if (layers.empty()) throw ValueError("model \"" + name + "\" has no layers; add some before building it");
  // A Sequential's graph is the chain input -> layers[0] -> layers[1] -> ...
  nodes.clear();
  nodes.push_back(Node{nullptr, {}, -1, input, name + "_input"});
  for (size_t i = 0; i < layers.size(); ++i) {
    nodes.push_back(Node{layers[i], {static_cast<int>(i)}, -1, {}, {}});
    build_layer(i, nodes[i].shape);
    nodes.back().shape = layers[i]->output_shape();
  }
  input_nodes = {0};
  output_nodes = {static_cast<int>(nodes.size()) - 1};
  index_variables();
  size_metric_counts();
}

void ModelState::build_last() {
  const size_t last = layers.size() - 1;
  if (nodes.empty()) nodes.push_back(Node{nullptr, {}, -1, input_shape(), name + "_input"});
  nodes.push_back(Node{layers[last], {static_cast<int>(nodes.size()) - 1}, -1, {}, {}});
  try {
    build_layer(last, nodes[nodes.size() - 2].shape);
  } catch (...) {
    nodes.pop_back();
    throw;
  }
  nodes.back().shape = layers[last]->output_shape();
  input_nodes = {0};
  output_nodes = {static_cast<int>(nodes.size()) - 1};
  index_variables();
  size_metric_counts();
}

void ModelState::build_layer(size_t i, const Shape& input) {
  // Each layer's generator depends only on the model's seed and the layer's position, so
  // building layer by layer (at add) or all at once gives the same weights.
  std::mt19937_64 layer_rng(seed + 0x9E3779B97F4A7C15ull * (i + 1));
  layers[i]->build(input, device, layer_rng);
  if (auto* dropout = dynamic_cast<nn::Dropout*>(layers[i].get())) dropout->set_default_seed(seed + 7919 * (i + 1));
}

void ModelState::build_node(size_t i) {
  Node& node = nodes[i];
  std::vector<Shape> shapes;
  for (int t : node.inputs) shapes.push_back(nodes[static_cast<size_t>(t)].shape);
  if (node.first_call < 0) {
    size_t position = 0;
    while (position < layers.size() && layers[position] != node.layer) ++position;
    std::mt19937_64 layer_rng(seed + 0x9E3779B97F4A7C15ull * (position + 1));
    node.layer->build(shapes, device, layer_rng);
    if (auto* dropout = dynamic_cast<nn::Dropout*>(node.layer.get())) {
      dropout->set_default_seed(seed + 7919 * (position + 1));
    }
  } else {
    std::mt19937_64 unused(0);
    node.layer->build(shapes, device, unused);
    node.layer->share_variables_with(*nodes[static_cast<size_t>(node.first_call)].layer);
    if (auto* dropout = dynamic_cast<nn::Dropout*>(node.layer.get())) dropout->set_default_seed(seed + 104729 * (i + 1));
  }
  node.shape = node.layer->output_shape();
}

void ModelState::build_graph() {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!nodes[i].is_input()) build_node(i);
  }
  index_variables();
  size_metric_counts();
}

void ModelState::copy_structure_to(ModelState& replica) const {
  replica.declared_input = declared_input;
  replica.functional = functional;
  std::map<const nn::Layer*, std::shared_ptr<nn::Layer>> copies;
  for (const auto& layer : layers) {
    replica.layers.push_back(layer->copy_unbuilt());
    replica.layers.back()->set_trainable(layer->trainable());
    copies[layer.get()] = replica.layers.back();
  }
  if (!functional) return;  // a Sequential's chain is made again by build
  replica.nodes = nodes;
  for (Node& node : replica.nodes) {
    if (node.is_input()) continue;
    node.layer = node.first_call < 0 ? copies.at(node.layer.get()) : node.layer->copy_unbuilt();
  }
  replica.input_nodes = input_nodes;
  replica.output_nodes = output_nodes;
  replica.keras_order = keras_order;
}

void ModelState::reseed(uint64_t new_seed) {
  seed = new_seed;
  rng.seed(seed);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (auto* dropout = dynamic_cast<nn::Dropout*>(layers[i].get())) dropout->set_default_seed(seed + 7919 * (i + 1));
  }
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].first_call < 0) continue;
    if (auto* dropout = dynamic_cast<nn::Dropout*>(nodes[i].layer.get())) dropout->set_default_seed(seed + 104729 * (i + 1));
  }
}

// The optimizer's list: trainable variables only, as Keras' optimizer.build(trainable_variables),
// so its slots (and their order in a saved file) are Keras'. Moving statistics are not in it.
void ModelState::index_variables() {
  variables_.clear();
  for (const auto& layer : layers) {
    if (!layer->trainable()) continue;
    for (auto& v : layer->variables()) {
      if (v.trainable) variables_.push_back(&v);  // not the moving statistics of a BatchNormalization
    }
  }
  const size_t n = nodes.size();
  needs_grad_.assign(n, false);
  std::vector<size_t> node_bytes(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = nodes[i];
    if (node.is_input()) continue;
    bool needs = node.layer->trainable() && node.layer->count_trainable_params() > 0;
    for (int t : node.inputs) needs = needs || needs_grad_[static_cast<size_t>(t)];
    needs_grad_[i] = needs;
    // A shared layer's gradients are complete at its first call, which backward reaches last.
    if (node.first_call < 0 && node.layer->trainable()) {
      for (auto& v : node.layer->variables()) node_bytes[i] += v.trainable ? v.value.nbytes() : 0;
    }
  }
  bucket_plan_ = plan_gradient_buckets(node_bytes, kGradientBucketBytes);
  later_calls_.assign(n, {});
  for (size_t i = 0; i < n; ++i) {
    if (nodes[i].first_call >= 0) later_calls_[static_cast<size_t>(nodes[i].first_call)].push_back(static_cast<int>(i));
  }
  values_.assign(n, nullptr);
  fused_into_.clear();  // planned again at the next forward
  grads_.assign(n, nullptr);
  grad_sums_.resize(n);
}

Shape ModelState::input_shape() const {
  if (!input_nodes.empty() && !nodes.empty()) return nodes[static_cast<size_t>(input_nodes[0])].shape;
  if (declared_input) return *declared_input;
  throw ValueError("model \"" + name + "\" has no input shape yet: start it with layers::Input or call fit/build");
}

Shape ModelState::output_shape() const { return output_shapes().front(); }

std::vector<Shape> ModelState::input_shapes() const {
  if (input_nodes.empty()) return {input_shape()};
  std::vector<Shape> out;
  for (int t : input_nodes) out.push_back(nodes.at(static_cast<size_t>(t)).shape);
  return out;
}

std::vector<Shape> ModelState::output_shapes() const {
  if (!built() || output_nodes.empty()) throw ValueError("model \"" + name + "\" is not built yet");
  std::vector<Shape> out;
  for (int t : output_nodes) out.push_back(nodes[static_cast<size_t>(t)].shape);
  return out;
}

std::vector<std::string> ModelState::input_names() const {
  std::vector<std::string> out;
  for (int t : input_nodes) out.push_back(nodes.at(static_cast<size_t>(t)).input_name);
  return out;
}

std::vector<std::string> ModelState::output_names() const {
  std::vector<std::string> out;
  if (output_nodes.empty()) {  // a Sequential not built yet: its last layer
    if (!layers.empty()) out.push_back(layers.back()->name());
    return out;
  }
  for (int t : output_nodes) out.push_back(nodes[static_cast<size_t>(t)].layer->name());
  return out;
}

std::vector<std::string> ModelState::running_names() const {
  std::vector<std::string> out;
  if (losses.size() > 1) {
    const std::vector<std::string> outputs = output_names();
    for (size_t o = 0; o < losses.size(); ++o) out.push_back(outputs[o] + "_loss");
  }
  for (const auto& m : metrics) out.push_back(m.log_name);
  return out;
}

size_t ModelState::running_sum_count() const {
  size_t n = losses.size() > 1 ? losses.size() : 0;
  for (const auto& m : metrics) n += m.sum_count();
  return n;
}

std::vector<double> ModelState::running_values(const StepTotals& totals) const {
  std::vector<double> out;
  if (totals.metric_sums.size() < running_sum_count()) return out;  // no step yet
  size_t k = 0;
  if (losses.size() > 1) {
    for (; k < losses.size(); ++k) {
      out.push_back(totals.metric_sums[k] / static_cast<double>(std::max<int64_t>(totals.samples, 1)));
    }
  }
  for (const auto& m : metrics) {
    out.push_back(m.value(&totals.metric_sums[k], totals.samples));
    k += m.sum_count();
  }
  return out;
}

nn::Layer& ModelState::output_layer(size_t o) const {
  if (!output_nodes.empty()) return *nodes[static_cast<size_t>(output_nodes.at(o))].layer;
  if (layers.empty()) throw ValueError("model \"" + name + "\" has no layers");
  return *layers.back();
}

std::vector<nn::Variable*> ModelState::variables() { return variables_; }

std::vector<nn::Variable*> ModelState::weights() {
  std::vector<nn::Variable*> out;
  for (auto& layer : layers) {
    for (auto& v : layer->variables()) out.push_back(&v);
  }
  return out;
}

bool ModelState::fuse_activation_into_loss(size_t o) const {
  if (o >= losses.size() || losses[o].from_logits || layers.empty() || output_nodes.size() <= o) return false;
  // The fused backward replaces the layer's gradient: only when the loss is the output's only
  // consumer (not when it also feeds another layer, or is listed as an output twice).
  const int node = output_nodes[o];
  if (std::count(output_nodes.begin(), output_nodes.end(), node) > 1) return false;
  for (const Node& n : nodes) {
    if (std::find(n.inputs.begin(), n.inputs.end(), node) != n.inputs.end()) return false;
  }
  const auto act = output_layer(o).activation();
  const backends::LossKind kind = losses[o].kind;
  const bool categorical = kind == backends::LossKind::sparse_categorical_crossentropy ||
                           kind == backends::LossKind::categorical_crossentropy;
  return (categorical && act == backends::ActivationKind::softmax) ||
         (kind == backends::LossKind::binary_crossentropy && act == backends::ActivationKind::sigmoid);
}

namespace {

// Times one part of a step for StepProfile: the device finishes what was queued before, and
// the part's own work, inside the measured interval.
class PartTimer {
 public:
  PartTimer(bool on, const Device& device, StepProfile::Time& total) : device_(on ? &device : nullptr), total_(total) {
    if (!device_) return;
    runtime::Registry::instance().context(*device_).backend().synchronize();
    wall_ = std::chrono::steady_clock::now();
    cpu_ = std::clock();
  }
  ~PartTimer() {
    if (!device_) return;
    runtime::Registry::instance().context(*device_).backend().synchronize();
    total_.wall += std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_).count();
    total_.cpu += static_cast<double>(std::clock() - cpu_) / CLOCKS_PER_SEC;
  }
  PartTimer(const PartTimer&) = delete;
  PartTimer& operator=(const PartTimer&) = delete;

 private:
  const Device* device_;
  StepProfile::Time& total_;
  std::chrono::steady_clock::time_point wall_;
  std::clock_t cpu_ = 0;
};

}  // namespace

void ModelState::ensure_fusion_plan() const {
  if (fused_into_.size() == nodes.size()) return;
  fused_into_ = plan_relu_fusion(nodes, output_nodes);
  relu_fused_.assign(nodes.size(), false);
  for (int p : fused_into_) {
    if (p >= 0) relu_fused_[static_cast<size_t>(p)] = true;
  }
  const std::vector<int> pooled = plan_max_pool_fusion(nodes, output_nodes);
  max_pool_fused_.assign(nodes.size(), false);
  for (size_t i = 0; i < nodes.size(); ++i) {
    // A producer takes one fusion: a pooling after a layer that applies a fused ReLU is left.
    if (const int p = pooled[i]; p >= 0 && fused_into_[i] < 0 && !relu_fused_[static_cast<size_t>(p)]) {
      fused_into_[i] = p;
      max_pool_fused_[static_cast<size_t>(p)] = true;
    }
  }
}

const std::vector<const Tensor*>& ModelState::forward(const std::vector<Tensor>& xs, bool training) {
  if (xs.size() != input_nodes.size()) {
    throw ValueError("model \"" + name + "\" has " + std::to_string(input_nodes.size()) + " inputs; " +
                     std::to_string(xs.size()) + " tensors were given");
  }
  for (size_t k = 0; k < xs.size(); ++k) values_[static_cast<size_t>(input_nodes[k])] = &xs[k];
  ensure_fusion_plan();
  std::vector<const Tensor*> inputs;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& node = nodes[i];
    if (node.is_input()) continue;
    if (const int p = fused_into_[i]; p >= 0) {  // its producer applied the ReLU (the pooling)
      values_[i] = values_[static_cast<size_t>(p)];
      continue;
    }
    // Every forward, not once: a layer may also run in another model that does not fuse it.
    node.layer->set_fused_relu(relu_fused_[i]);
    node.layer->set_fused_max_pool(max_pool_fused_[i]);
    inputs.clear();
    for (int t : node.inputs) inputs.push_back(values_[static_cast<size_t>(t)]);
    const bool timed = profile.enabled && training && profile.forward.size() == nodes.size();
    PartTimer timer(timed, device, timed ? profile.forward[i] : profile.loss);
    values_[i] = &node.layer->forward(inputs, training);
  }
  outputs_.clear();
  for (int t : output_nodes) outputs_.push_back(values_[static_cast<size_t>(t)]);
  return outputs_;
}

void ModelState::compute_loss(const std::vector<Tensor>& ys, bool with_gradient, int64_t scale_batch) {
  const size_t n_out = outputs_.size();
  // The targets, then the samples' weights when there are (Keras' sample_weight: one per row,
  // for every output): batched, sharded and split as the targets are.
  const Tensor* weights = ys.size() == n_out + 1 ? &ys.back() : nullptr;
  if ((ys.size() != n_out && !weights) || losses.size() != n_out) {
    throw ValueError("model \"" + name + "\" has " + std::to_string(n_out) + " outputs and " +
                     std::to_string(losses.size()) + " losses; " + std::to_string(ys.size()) + " targets were given");
  }
  const int64_t batch = outputs_[0]->dim(0);
  ops::ensure(sample_loss_, {batch}, device);
  const size_t metric_slots = running_sum_count() - (n_out > 1 ? n_out : 0);
  ops::ensure(stats_, {static_cast<int64_t>(n_out + metric_slots)}, device);
  output_grads_.resize(n_out);
  auto& backend = ops::backend_of("loss", *outputs_[0]);
  const float per_sample = 1.0f / static_cast<float>(scale_batch > 0 ? scale_batch : batch);
  // LossScaleOptimizer: the gradient of the scaled loss (the optimizer divides it back out).
  const float loss_scale = with_gradient && optimizer ? optimizer->loss_scale() : 1.0f;
  for (size_t o = 0; o < n_out; ++o) {
    const bool fused = fuse_activation_into_loss(o);
    const Tensor& prediction = fused ? output_layer(o).logits() : *outputs_[o];
    if (with_gradient) ops::ensure(output_grads_[o], prediction.shape(), device);
    // "sum" adds the samples' losses up: its gradient is not divided by the batch.
    const float scale = losses[o].reduction == Reduction::sum ? 1.0f : per_sample;
    backends::LossArgs args{losses[o].kind, fused || losses[o].from_logits, losses[o].weight * scale * loss_scale,
                            losses[o].label_smoothing, losses[o].delta};
    backend.loss(args, prediction.reshape({batch, -1}), ys[o], sample_loss_, with_gradient ? &output_grads_[o] : nullptr);
    if (weights) {  // each sample's loss and its gradient times its weight
      Tensor loss_rows = sample_loss_.reshape({batch, 1});
      backend.scale_rows(loss_rows, *weights, loss_rows);
      if (with_gradient) {
        Tensor grad_rows = output_grads_[o].reshape({batch, -1});
        backend.scale_rows(grad_rows, *weights, grad_rows);
      }
    }
    Tensor slot = stats_.slice(static_cast<int64_t>(o), static_cast<int64_t>(o) + 1);
    backend.sum(sample_loss_, slot);
  }
  // Each metric slot's per-sample values, summed into its own element of stats_, so one copy
  // brings every loss and metric sum of the step to the host.
  int64_t at = static_cast<int64_t>(n_out);
  for (const auto& m : metrics) {
    const size_t o = static_cast<size_t>(m.output);
    if (m.counts) {
      Tensor slot = stats_.slice(at, at + m.count_size);
      queue_metric_counts(m, outputs_[o]->reshape({batch, -1}), ys[o], slot);
      at += m.count_size;
    }
    for (backends::MetricKind kind : m.slots) {
      ops::ensure(correct_, {batch}, device);
      backend.metric(kind, outputs_[o]->reshape({batch, -1}), ys[o], correct_);
      if (m.weighted && weights) {
        Tensor rows = correct_.reshape({batch, 1});
        backend.scale_rows(rows, *weights, rows);
      }
      Tensor slot = stats_.slice(at, at + 1);
      backend.sum(correct_, slot);
      ++at;
    }
    if (m.weighted) {  // the weights' sum, what the weighted mean divides by
      Tensor slot = stats_.slice(at, at + 1);
      if (weights) {
        backend.sum(*weights, slot);
      } else {
        backend.fill(slot, static_cast<float>(batch));
      }
      ++at;
    }
  }
  pending_batch_ = batch;
  pending_scale_batch_ = scale_batch > 0 ? scale_batch : batch;
}

void ModelState::collect_step(StepTotals& totals) {
  if (tiled_pending_) {
    tiled_pending_ = false;
    totals.loss_sum += tiled_totals_.loss_sum;
    totals.metric_sums.resize(running_sum_count());
    for (size_t k = 0; k < tiled_totals_.metric_sums.size() && k < totals.metric_sums.size(); ++k) {
      totals.metric_sums[k] += tiled_totals_.metric_sums[k];
    }
    totals.samples += tiled_totals_.samples;
    return;
  }
  read_stats(totals);
}

void ModelState::read_stats(StepTotals& totals) {
  if (pending_batch_ == 0) return;
  float values[16];
  std::vector<float> many;
  float* host = stats_.numel() <= 16 ? values : (many.resize(static_cast<size_t>(stats_.numel())), many.data());
  ops::backend_of("copy_to_host", stats_).copy_to_host(host, stats_.raw_data(), stats_.nbytes());
  const size_t n_out = losses.size();
  // The running values: each output's own (unweighted) loss when there are several, then the
  // metrics; the model's loss is their weighted sum, as in Keras.
  totals.metric_sums.resize(running_sum_count());
  size_t k = 0;
  for (size_t o = 0; o < n_out; ++o) {
    // Keras' loss tracker averages the batches' losses weighted by batch size, so the sum
    // of a step's per-sample losses stands for a "sum" loss's batch value times the batch.
    const double sum = losses[o].reduction == Reduction::sum
                           ? static_cast<double>(host[o]) * static_cast<double>(pending_scale_batch_)
                           : static_cast<double>(host[o]);
    totals.loss_sum += static_cast<double>(losses[o].weight) * sum;
    if (n_out > 1) totals.metric_sums[k++] += sum;
  }
  for (size_t i = n_out; i < static_cast<size_t>(stats_.numel()); ++i) totals.metric_sums[k++] += host[i];
  totals.samples += pending_batch_;
  pending_batch_ = 0;
}

void ModelState::train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, StepTotals& totals) {
  queue_train_step(xs, ys);
  collect_step(totals);
}

void ModelState::bucket_after_node(int node, std::vector<Tensor*>& bucket, const GradientsReady& ready) {
  if (!ready) return;
  const Node& n = nodes[static_cast<size_t>(node)];
  if (!n.is_input() && n.first_call < 0 && n.layer->trainable()) {
    for (auto& v : n.layer->variables()) {
      if (v.trainable) bucket.push_back(&v.grad);
    }
  }
  const BucketSend send = bucket_plan_.at(static_cast<size_t>(node));
  if (send == BucketSend::none) return;
  ready(bucket, send == BucketSend::last);
  bucket.clear();
}

void ModelState::add_gradient(int t, const Tensor* g) {
  const size_t i = static_cast<size_t>(t);
  if (grads_[i] == nullptr) {
    grads_[i] = g;
    return;
  }
  // A second consumer: sum into this node's own buffer (the first gradient may be another
  // layer's buffer, which that layer overwrites at its next backward).
  Tensor& sum = ops::ensure(grad_sums_[i], g->shape(), device);
  ops::backend_of("add gradients", *g).axpby(1.0f, *grads_[i], 1.0f, *g, sum);
  grads_[i] = &sum;
}

void ModelState::backward(const GradientsReady& ready) {
  std::fill(grads_.begin(), grads_.end(), nullptr);
  // Where the losses' gradients enter: a fused output's layer takes its gradient w.r.t. the
  // logits itself; every other output's adds to what its node receives.
  std::vector<int> fused_at(nodes.size(), -1);
  for (size_t o = 0; o < output_nodes.size(); ++o) {
    if (fuse_activation_into_loss(o)) {
      fused_at[static_cast<size_t>(output_nodes[o])] = static_cast<int>(o);
    } else {
      add_gradient(output_nodes[o], &output_grads_[o]);
    }
  }
  std::vector<Tensor*> bucket;
  std::vector<bool> need_dx;
  std::vector<const Tensor*> dxs;
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    const Node& node = nodes[static_cast<size_t>(i)];
    const int p = static_cast<size_t>(i) < fused_into_.size() ? fused_into_[static_cast<size_t>(i)] : -1;
    if (p >= 0) {
      // A fused ReLU (pooling): its producer's backward takes the gradient w.r.t. its output.
      if (needs_grad_[static_cast<size_t>(i)] && grads_[static_cast<size_t>(i)] != nullptr) {
        add_gradient(p, grads_[static_cast<size_t>(i)]);
      }
      bucket_after_node(i, bucket, ready);
      continue;
    }
    if (!node.is_input() && needs_grad_[static_cast<size_t>(i)]) {
      const bool timed = profile.enabled && profile.backward.size() == nodes.size();
      PartTimer timer(timed, device, timed ? profile.backward[static_cast<size_t>(i)] : profile.loss);
      need_dx.clear();
      for (int t : node.inputs) need_dx.push_back(needs_grad_[static_cast<size_t>(t)]);
      if (const int o = fused_at[static_cast<size_t>(i)]; o >= 0) {
        const Tensor& dx = node.layer->backward_from_logits(output_grads_[static_cast<size_t>(o)], need_dx[0]);
        dxs.assign(1, need_dx[0] ? &dx : nullptr);
      } else {
        const Tensor* dy = grads_[static_cast<size_t>(i)];
        if (dy == nullptr) {
          throw RuntimeError("model \"" + name + "\": layer \"" + node.layer->name() +
                             "\" leads to no output, so it gets no gradient");
        }
        node.layer->backward(*dy, need_dx, dxs);
      }
      for (size_t j = 0; j < node.inputs.size(); ++j) {
        if (dxs[j] != nullptr) add_gradient(node.inputs[j], dxs[j]);
      }
      // The first call of a shared layer comes last in backward: the later calls' gradients
      // (each in its own copy of the layer) add into its own.
      for (int k : later_calls_[static_cast<size_t>(i)]) {
        auto& mine = node.layer->variables();
        auto& theirs = nodes[static_cast<size_t>(k)].layer->variables();
        for (size_t v = 0; v < mine.size(); ++v) {
          if (!mine[v].trainable) continue;  // no gradient (moving statistics)
          ops::backend_of("add gradients", mine[v].grad).axpby(1.0f, mine[v].grad, 1.0f, theirs[v].grad, mine[v].grad);
        }
      }
    }
    bucket_after_node(i, bucket, ready);
  }
}

void ModelState::queue_train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, int64_t global_batch,
                                  const GradientsReady& ready) {
  if (profile.enabled) {
    profile.forward.resize(nodes.size());
    profile.backward.resize(nodes.size());
    ++profile.steps;
  }
  const int64_t batch = xs.empty() ? 0 : xs[0].dim(0);
  if (const int64_t tile = tile_rows(batch); tile > 0) {
    tiled_train_step(xs, ys, global_batch > 0 ? global_batch : batch, tile, ready);
    return;
  }
  forward(xs, /*training=*/true);
  loss_with_gradient(ys, global_batch, nullptr);
  backward(ready);
  apply_optimizer();
}

void ModelState::loss_with_gradient(const std::vector<Tensor>& ys, int64_t scale_batch, StepTotals* totals) {
  PartTimer timer(profile.enabled, device, profile.loss);
  compute_loss(ys, /*with_gradient=*/true, scale_batch);
  if (totals != nullptr) read_stats(*totals);
}

void ModelState::apply_optimizer() {
  PartTimer timer(profile.enabled, device, profile.optimizer);
  optimizer->apply(variables_);
}

int64_t ModelState::tile_rows(int64_t batch) const {
  if (!device.is_cpu() || batch < 2) return 0;
  for (const auto& layer : layers) {
    if (layer->mixes_samples()) return 0;
  }
  int64_t rows = 0;
  if (const char* forced = std::getenv("KEROSENE_CPU_TILE_ROWS"); forced && *forced) {
    rows = std::max<int64_t>(std::atoll(forced), 0);
    if (rows == 0) return 0;
  } else {
    // A tile's activations, their gradients and a layer's own buffers (about three floats per
    // output element of every layer) in half of each core's L2 cache; at least 8 rows per
    // thread, as fewer leave the per-op costs (a oneDNN call, the thread team's start)
    // uncovered. A node fused into its producer has no buffers of its own (the producer's
    // output is the fused node's: a fused pooling's, smaller), nor has a view (Flatten, Reshape).
    ensure_fusion_plan();
    std::vector<const Shape*> written(nodes.size(), nullptr);
    for (size_t i = 0; i < nodes.size(); ++i) {
      if (nodes[i].is_input() || dynamic_cast<const nn::ReshapeLayer*>(nodes[i].layer.get())) continue;
      if (const int p = fused_into_[i]; p >= 0) {
        written[static_cast<size_t>(p)] = &nodes[i].shape;
      } else if (!written[i]) {
        written[i] = &nodes[i].shape;
      }
    }
    int64_t bytes_per_row = 0;
    for (const Shape* shape : written) {
      if (shape) bytes_per_row += 3 * static_cast<int64_t>(sizeof(float)) * shape->numel();
    }
    bytes_per_row = std::max<int64_t>(bytes_per_row, 1);
    // A CPU replica runs its ops on one core (MirroredModel::run caps its thread).
    const int64_t threads = std::max(1, runtime::op_threads_here());
    const long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
    const int64_t budget = threads * (l2 > 0 ? l2 : (1 << 20)) / 2;
    // Each tile reads the weights again and adds its weight gradients up: a tile pays off only
    // where its activations outweigh that several times, so it grows to 8 times the weights'
    // bytes, up to 64 rows a thread. The MNIST CNN with its first convolution and pooling
    // fused (a 5408x10 Dense head against 65 KB of activations a row) gets tiles of 27 rows or
    // more instead of 8 rows whose Dense products run at a third of their speed; a multilayer
    // perceptron, whose weights dominate (20% slower in tiles of 85 rows at batch 512), would
    // need thousands of rows and runs untiled (bench/RESULTS.md).
    int64_t weight_bytes = 0;
    for (const nn::Variable* v : variables_) weight_bytes += static_cast<int64_t>(v->value.nbytes());
    const int64_t amortizing = (8 * weight_bytes + bytes_per_row - 1) / bytes_per_row;
    if (amortizing > 64 * threads) return 0;
    rows = std::max({8 * threads, budget / bytes_per_row, amortizing});
  }
  if (batch < 2 * rows) return 0;
  // Tiles of one size where a few more of them divide the batch (a tile of another size would
  // reallocate every layer's buffers twice a step).
  int64_t tiles = (batch + rows - 1) / rows;
  for (int64_t t = tiles; t < tiles + 4 && t <= batch; ++t) {
    if (batch % t == 0) {
      tiles = t;
      break;
    }
  }
  return (batch + tiles - 1) / tiles;
}

void ModelState::tiled_train_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, int64_t scale_batch,
                                  int64_t tile, const GradientsReady& ready) {
  const int64_t batch = xs[0].dim(0);
  tiled_totals_ = StepTotals{};
  tile_grad_sums_.resize(variables_.size());
  std::vector<Tensor> x_tile(xs.size()), y_tile(ys.size());
  for (int64_t begin = 0; begin < batch; begin += tile) {
    const int64_t end = std::min(batch, begin + tile);
    for (size_t i = 0; i < xs.size(); ++i) x_tile[i] = xs[i].slice(begin, end);
    for (size_t i = 0; i < ys.size(); ++i) y_tile[i] = ys[i].slice(begin, end);
    forward(x_tile, /*training=*/true);
    loss_with_gradient(y_tile, scale_batch, &tiled_totals_);  // the gradient of the whole batch's mean
    backward({});
    for (size_t v = 0; v < variables_.size(); ++v) {
      const Tensor& g = variables_[v]->grad;
      Tensor& sum = ops::ensure(tile_grad_sums_[v], g.shape(), device);
      ops::backend_of("sum tile gradients", g).axpby(1.0f, g, begin == 0 ? 0.0f : 1.0f, sum, sum);
    }
  }
  for (size_t v = 0; v < variables_.size(); ++v) {
    Tensor& g = variables_[v]->grad;
    ops::backend_of("sum tile gradients", g).axpby(1.0f, tile_grad_sums_[v], 0.0f, g, g);
  }
  if (ready) {
    std::vector<Tensor*> bucket;
    for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) bucket_after_node(i, bucket, ready);
  }
  tiled_pending_ = true;
  apply_optimizer();
}

void ModelState::queue_empty_step(const GradientsReady& ready) {
  std::vector<Tensor*> bucket;
  for (auto& layer : layers) {
    for (auto& v : layer->variables()) {
      if (v.trainable) ops::backend_of("fill", v.grad).fill(v.grad, 0.0f);
    }
  }
  // Layers that sum across replicas (synchronized BatchNormalization) take part with nothing, in
  // the order the other replicas' forward and backward reach them.
  for (const Node& node : nodes) {
    if (!node.is_input()) node.layer->forward_without_rows();
  }
  for (int i = static_cast<int>(nodes.size()) - 1; i >= 0; --i) {
    const Node& node = nodes[static_cast<size_t>(i)];
    if (!node.is_input() && needs_grad_[static_cast<size_t>(i)]) node.layer->backward_without_rows();
    bucket_after_node(i, bucket, ready);
  }
  optimizer->apply(variables_);
}

void ModelState::test_step(const std::vector<Tensor>& xs, const std::vector<Tensor>& ys, StepTotals& totals) {
  forward(xs, /*training=*/false);
  compute_loss(ys, /*with_gradient=*/false);
  collect_step(totals);
}

}  // namespace kerosene::train
