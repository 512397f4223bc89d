#include "train/model_state.h"

#include "kerosene/error.h"
#include "nn/simple_layers.h"
#include "ops/ops.h"

namespace kerosene::train {

void ModelState::build(const Shape& input) {
  if (layers.empty()) throw ValueError("model \"" + name + "\" has no layers; add some before building it");
  Shape shape = input;
  for (size_t i = 0; i < layers.size(); ++i) {
    build_layer(i, shape);
    shape = layers[i]->output_shape();
  }
  index_variables();
}

void ModelState::build_last() {
  const size_t last = layers.size() - 1;
  build_layer(last, last == 0 ? input_shape() : layers[last - 1]->output_shape());
  index_variables();
}

void ModelState::build_layer(size_t i, const Shape& input) {
  // Each layer's generator depends only on the model's seed and the layer's position, so
  // building layer by layer (at add) or all at once gives the same weights.
  std::mt19937_64 layer_rng(seed + 0x9E3779B97F4A7C15ull * (i + 1));
  layers[i]->build(input, device, layer_rng);
  if (auto* dropout = dynamic_cast<nn::Dropout*>(layers[i].get())) dropout->set_default_seed(seed + 7919 * (i + 1));
}

void ModelState::reseed(uint64_t new_seed) {
  seed = new_seed;
  rng.seed(seed);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (auto* dropout = dynamic_cast<nn::Dropout*>(layers[i].get())) dropout->set_default_seed(seed + 7919 * (i + 1));
  }
}

// The optimizer's list: trainable variables only, as Keras' optimizer.build(trainable_variables),
// so its slots (and their order in a saved file) are Keras'. Moving statistics are not in it.
void ModelState::index_variables() {
  variables_.clear();
  first_with_variables_ = -1;
  std::vector<size_t> layer_bytes;
  for (size_t i = 0; i < layers.size(); ++i) {
    size_t bytes = 0;
    for (auto& v : layers[i]->variables()) {
      if (!v.trainable) continue;
      variables_.push_back(&v);
      bytes += v.value.nbytes();
    }
    if (first_with_variables_ < 0 && bytes > 0) first_with_variables_ = static_cast<int>(i);
    layer_bytes.push_back(bytes);
  }
  bucket_plan_ = plan_gradient_buckets(layer_bytes, kGradientBucketBytes);
}

Shape ModelState::input_shape() const {
  if (built()) return layers.front()->input_shape();
  if (declared_input) return *declared_input;
  throw ValueError("model \"" + name + "\" has no input shape yet: start it with layers::Input or call fit/build");
}

Shape ModelState::output_shape() const {
  if (!built()) throw ValueError("model \"" + name + "\" is not built yet");
  return layers.back()->output_shape();
}

std::vector<nn::Variable*> ModelState::variables() { return variables_; }

std::vector<nn::Variable*> ModelState::weights() {
  std::vector<nn::Variable*> out;
  for (auto& layer : layers) {
    for (auto& v : layer->variables()) out.push_back(&v);
  }
  return out;
}

bool ModelState::fuse_activation_into_loss() const {
  if (loss.from_logits || layers.empty()) return false;
  const auto act = layers.back()->activation();
  const bool categorical = loss.kind == backends::LossKind::sparse_categorical_crossentropy ||
                           loss.kind == backends::LossKind::categorical_crossentropy;
  return (categorical && act == backends::ActivationKind::softmax) ||
         (loss.kind == backends::LossKind::binary_crossentropy && act == backends::ActivationKind::sigmoid);
}

const Tensor& ModelState::forward(const Tensor& x, bool training) {
  const Tensor* h = &x;
  for (auto& layer : layers) h = &layer->forward(*h, training);
  return *h;
}

void ModelState::compute_loss(const Tensor& output, const Tensor& y, bool with_gradient, int64_t scale_batch) {
  const int64_t batch = output.dim(0);
  const bool fused = fuse_activation_into_loss();
  const Tensor& prediction = fused ? layers.back()->logits() : output;
  ops::ensure(sample_loss_, {batch}, device);
  ops::ensure(stats_, {1 + static_cast<int64_t>(metrics.size())}, device);
  if (with_gradient) ops::ensure(grad_, prediction.shape(), device);
  auto& backend = ops::backend_of("loss", output);
  backends::LossArgs args{loss.kind, fused || loss.from_logits,
                          1.0f / static_cast<float>(scale_batch > 0 ? scale_batch : batch)};
  backend.loss(args, prediction.reshape({batch, -1}), y, sample_loss_, with_gradient ? &grad_ : nullptr);
  Tensor slot = stats_.slice(0, 1);
  backend.sum(sample_loss_, slot);
  for (size_t i = 0; i < metrics.size(); ++i) {
    ops::ensure(correct_, {batch}, device);
    backend.metric(metrics[i].kind, output.reshape({batch, -1}), y, correct_);
    slot = stats_.slice(static_cast<int64_t>(i) + 1, static_cast<int64_t>(i) + 2);
    backend.sum(correct_, slot);
  }
  pending_batch_ = batch;
}

void ModelState::collect_step(StepTotals& totals) {
  if (pending_batch_ == 0) return;
  float values[16];
  std::vector<float> many;
  float* host = stats_.numel() <= 16 ? values : (many.resize(static_cast<size_t>(stats_.numel())), many.data());
  ops::backend_of("copy_to_host", stats_).copy_to_host(host, stats_.raw_data(), stats_.nbytes());
  totals.loss_sum += host[0];
  totals.samples += pending_batch_;
  totals.metric_sums.resize(metrics.size());
  for (size_t i = 0; i < metrics.size(); ++i) totals.metric_sums[i] += host[i + 1];
  pending_batch_ = 0;
}

void ModelState::train_step(const Tensor& x, const Tensor& y, StepTotals& totals) {
  queue_train_step(x, y);
  collect_step(totals);
}

void ModelState::bucket_after_layer(int layer, std::vector<Tensor*>& bucket, const GradientsReady& ready) {
  if (!ready) return;
  for (auto& v : layers[static_cast<size_t>(layer)]->variables()) {
    if (v.trainable) bucket.push_back(&v.grad);
  }
  const BucketSend send = bucket_plan_.at(static_cast<size_t>(layer));
  if (send == BucketSend::none) return;
  ready(bucket, send == BucketSend::last);
  bucket.clear();
}

void ModelState::queue_train_step(const Tensor& x, const Tensor& y, int64_t global_batch, const GradientsReady& ready) {
  const Tensor& output = forward(x, /*training=*/true);
  compute_loss(output, y, /*with_gradient=*/true, global_batch);
  const int last = static_cast<int>(layers.size()) - 1;
  // Layers before the first one with variables need no gradient, so it computes no dx.
  auto need_dx = [&](int i) { return i > first_with_variables_; };
  std::vector<Tensor*> bucket;
  const Tensor* g = fuse_activation_into_loss() ? &layers[last]->backward_from_logits(grad_, need_dx(last))
                                                : &layers[last]->backward(grad_, need_dx(last));
  bucket_after_layer(last, bucket, ready);
  for (int i = last - 1; i >= 0 && need_dx(i + 1); --i) {
    g = &layers[i]->backward(*g, need_dx(i));
    bucket_after_layer(i, bucket, ready);
  }
  optimizer->apply(variables_);
}

void ModelState::queue_empty_step(const GradientsReady& ready) {
  std::vector<Tensor*> bucket;
  const int last = static_cast<int>(layers.size()) - 1;
  for (int i = last; i >= 0; --i) {
    for (auto& v : layers[static_cast<size_t>(i)]->variables()) {
      if (v.trainable) ops::backend_of("fill", v.grad).fill(v.grad, 0.0f);
    }
    bucket_after_layer(i, bucket, ready);
  }
  optimizer->apply(variables_);
}

void ModelState::test_step(const Tensor& x, const Tensor& y, StepTotals& totals) {
  compute_loss(forward(x, /*training=*/false), y, /*with_gradient=*/false);
  collect_step(totals);
}

}  // namespace kerosene::train
