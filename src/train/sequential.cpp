// Model and Sequential: creating, building, compiling, weights. The loops are in loops.cpp, the
// Functional API in functional.cpp.
#include "kerosene/sequential.h"

#include <atomic>
#include <algorithm>
#include <map>
#include <cmath>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>

#include "train/distribution.h"
#include "kerosene/device_scope.h"
#include "runtime/device_context.h"
#include "kerosene/error.h"
#include "nn/simple_layers.h"
#include "train/loss_catalog.h"
#include "train/metric_catalog.h"
#include "train/model_state.h"

namespace kerosene {

namespace train {
namespace {
std::mutex g_seed_mutex;
std::optional<uint64_t> g_seed;
// Models created since the last set_random_seed: reseeding starts the count again, as Keras
// reseeds its global generator, so the same code after the same seed builds the same models.
uint64_t g_models_since_seed = 0;
}  // namespace

std::optional<uint64_t> global_seed() {
  std::lock_guard lock(g_seed_mutex);
  return g_seed;
}
}  // namespace train

namespace utils {
void set_random_seed(uint64_t seed) {
  std::lock_guard lock(train::g_seed_mutex);
  train::g_seed = seed;
  train::g_models_since_seed = 0;
}
}  // namespace utils

namespace train {

std::unique_ptr<ModelState> new_model_state(const std::string& name) {
  auto state_ = std::make_unique<ModelState>();
  state_->name = name;
  // As in TensorFlow, a model goes to the first GPU unless a scope places it; fit() says where.
  state_->device = DeviceScope::active() ? DeviceScope::current()
                                         : runtime::Registry::instance().default_compute_device("a model was created");
  // In a strategy's scope the model is mirrored: this is replica 0, on the strategy's first device.
  if (auto distribution = current_distribution()) {
    state_->distribution = distribution;
    state_->device = distribution->devices.front();
  }
  // Each model draws its own seed: from the global seed when set (so runs repeat), else at random.
  uint64_t n;
  std::optional<uint64_t> global;
  {
    std::lock_guard lock(train::g_seed_mutex);
    n = train::g_models_since_seed++;
    global = train::g_seed;
  }
  state_->seed = global ? *global * 1000003ull + n : std::random_device{}() * 4294967296ull + std::random_device{}();
  state_->rng.seed(state_->seed);
  return state_;
}

}  // namespace train

Model::Model(std::unique_ptr<train::ModelState> state) : state_(std::move(state)) {}
Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

Sequential::Sequential(std::vector<Layer> layers, const std::string& name)
    : Model(train::new_model_state(name.empty() ? nn::unique_name("sequential") : name)) {
  for (const Layer& layer : layers) add(layer);
}

void Sequential::add(const Layer& layer) {
  auto& s = *state_;
  if (auto* input = dynamic_cast<nn::InputLayer*>(layer.impl().get())) {
    if (!s.layers.empty() || s.declared_input) {
      throw ValueError("an Input layer can only be the first layer of a Sequential model");
    }
    s.declared_input = input->shape();
    return;
  }
  for (const auto& existing : s.layers) {
    if (existing == layer.impl()) throw ValueError("layer \"" + layer.name() + "\" is already in model \"" + s.name + "\"");
  }
  s.layers.push_back(layer.impl());
  // With a known input shape, build now: a layer that does not fit fails here, at add().
  if (s.declared_input) {
    try {
      s.build_last();
    } catch (...) {
      s.layers.pop_back();  // the layer failed before changing anything; the others stay built
      throw;
    }
  }
}

void Model::build(const Shape& input_shape) {
  if (state_->functional) {
    if (state_->input_nodes.size() != 1 || input_shape != state_->input_shape()) {
      throw ValueError("model \"" + name() + "\" is built for inputs of shape " +
                       state_->input_shape().with_batch(-1).to_string(true) + ", not " +
                       input_shape.with_batch(-1).to_string(true));
    }
    return;
  }
  state_->declared_input = input_shape;
  state_->build(input_shape);
}

bool Model::built() const { return state_->built(); }

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

void Model::compile_with_loss(const Optimizer& optimizer, const std::string& loss,
                              const std::vector<std::string>& metrics, bool from_logits) {
  const size_t outputs = state_->functional ? state_->output_nodes.size() : 1;
  if (outputs > 1 && !metrics.empty()) {
    throw ValueError("model \"" + name() + "\" has " + std::to_string(outputs) + " outputs (" +
                     join(state_->output_names()) +
                     "): give its metrics per output, in CompileOptions::metrics (one list per output)");
  }
  CompileOptions options{.loss = {loss}, .from_logits = from_logits};
  if (!metrics.empty()) options.metrics = {metrics};
  compile(optimizer, options);
}

void Model::compile(const Optimizer& optimizer, const CompileOptions& options) {
  auto& s = *state_;
  const size_t outputs = s.functional ? s.output_nodes.size() : 1;
  const std::vector<std::string> output_names = s.output_names();
  auto per_output = [&](size_t given, const char* what) {
    if (given != outputs) {
      throw ValueError("model \"" + s.name + "\" has " + std::to_string(outputs) + " output" +
                       (outputs == 1 ? "" : "s") + " (" + join(output_names) + "), but " + std::to_string(given) +
                       " " + what + " were given; give one per output" +
                       (std::string(what) == "losses" ? " or one for all" : ""));
    }
  };
  if (options.loss.empty()) throw ValueError("compile needs a loss for model \"" + s.name + "\"");
  if (options.loss.size() != 1) per_output(options.loss.size(), "losses");
  if (!options.loss_weights.empty()) per_output(options.loss_weights.size(), "loss_weights");
  if (!options.metrics.empty()) per_output(options.metrics.size(), "metric lists");
  if (!options.weighted_metrics.empty()) per_output(options.weighted_metrics.size(), "weighted_metrics lists");
  std::vector<train::LossConfig> losses;
  for (size_t o = 0; o < outputs; ++o) {
    losses.push_back(train::parse_loss_spec(options.loss[options.loss.size() == 1 ? 0 : o], options.from_logits));
    if (!options.loss_weights.empty()) {
      const float w = options.loss_weights[o];
      if (!(w >= 0.0f) || !std::isfinite(w)) {
        throw ValueError("loss_weights[" + std::to_string(o) + "] = " + std::to_string(w) +
                         " must be a finite number >= 0");
      }
      losses.back().weight = w;
    }
  }
  std::vector<train::MetricConfig> metrics;
  for (size_t o = 0; o < options.metrics.size(); ++o) {
    const int64_t units = s.built() ? s.output_shapes()[o][-1] : 1;
    for (const std::string& m : options.metrics[o]) {
      metrics.push_back(train::parse_metric_spec(m, losses[o], units));
      train::MetricConfig& metric = metrics.back();
      metric.output = static_cast<int>(o);
      // Keras names a metric of a model with several outputs after the output's layer.
      metric.log_name = outputs > 1 ? output_names[o] + "_" + metric.name : metric.name;
    }
  }
  for (size_t o = 0; o < options.weighted_metrics.size(); ++o) {
    const int64_t units = s.built() ? s.output_shapes()[o][-1] : 1;
    for (const std::string& m : options.weighted_metrics[o]) {
      train::MetricConfig metric = train::parse_metric_spec(m, losses[o], units);
      if (metric.counts) {
        throw ValueError("weighted_metrics: \"" + m + "\" keeps counts (top-k, AUC, F-score, IoU), which do not "
                         "take sample weights yet; give it in metrics instead");
      }
      // Keras' CompileMetrics.result: the plain name unless a metric already has it.
      const std::string prefix = outputs > 1 ? output_names[o] + "_" : "";
      const bool taken = std::any_of(metrics.begin(), metrics.end(),
                                     [&](const train::MetricConfig& c) { return c.log_name == prefix + metric.name; });
      metric.output = static_cast<int>(o);
      metric.log_name = prefix + (taken ? "weighted_" : "") + metric.name;
      metric.weighted = true;
      metrics.push_back(std::move(metric));
    }
  }
  // Two metric objects of one class get Keras' auto names: auc, auc_1, auc_2...
  std::map<std::string, int> seen;
  for (auto& metric : metrics) {
    const int copies = seen[metric.log_name]++;
    if (copies > 0 && metric.counts) metric.log_name += "_" + std::to_string(copies);
  }
  s.losses = std::move(losses);
  s.metrics = std::move(metrics);
  s.optimizer = optimizer.impl();
  s.compiled = true;
  s.size_metric_counts();
  if (s.built() && !s.nodes.empty()) s.index_variables();  // layer.trainable may have changed
}

Optimizer Model::optimizer() const {
  if (!state_->compiled || !state_->optimizer) {
    throw RuntimeError("model \"" + state_->name + "\" has no optimizer: call compile(optimizer, loss) first");
  }
  return Optimizer(state_->optimizer);
}

const std::string& Model::name() const { return state_->name; }

std::vector<Layer> Model::layers() const {
  std::vector<Layer> out;
  for (const auto& l : state_->layers) out.emplace_back(l);
  return out;
}

int64_t Model::count_params() const {
  int64_t n = 0;
  for (const auto& l : state_->layers) n += l->count_params();
  return n;
}

std::vector<Tensor> Model::get_weights() const {
  std::vector<Tensor> out;
  for (const Layer& l : layers()) {
    for (Tensor& t : l.get_weights()) out.push_back(std::move(t));
  }
  return out;
}

void Model::set_weights(const std::vector<Tensor>& weights) {
  size_t expected = 0;
  for (const auto& l : state_->layers) expected += l->variables().size();
  if (weights.size() != expected) {
    throw ValueError("model \"" + name() + "\" has " + std::to_string(expected) + " weight tensors, " +
                     std::to_string(weights.size()) + " were given");
  }
  size_t offset = 0;
  for (Layer l : layers()) {
    const size_t n = l.impl()->variables().size();
    l.set_weights(std::vector<Tensor>(weights.begin() + offset, weights.begin() + offset + n));
    offset += n;
  }
}

Device Model::device() const { return state_->device; }

double EvaluateResult::operator[](const std::string& name) const {
  for (const auto& [n, v] : values) {
    if (n == name) return v;
  }
  std::string known;
  for (const auto& [n, v] : values) known += (known.empty() ? "" : ", ") + n;
  throw ValueError("evaluate returned no value \"" + name + "\"; it has: " + known);
}

double EvaluateResult::operator[](size_t position) const {
  if (position >= values.size()) {
    throw ValueError("evaluate returned " + std::to_string(values.size()) + " values; position " +
                     std::to_string(position) + " is out of range");
  }
  return values[position].second;
}

}  // namespace kerosene
