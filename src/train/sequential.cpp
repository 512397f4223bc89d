// Model and Sequential: creating, building, compiling, weights. The loops are in loops.cpp, the
// Functional API in functional.cpp.
#include "kerosene/sequential.h"

#include <atomic>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>

#include "distribute/strategy_state.h"
#include "kerosene/device_scope.h"
#include "runtime/device_context.h"
#include "kerosene/error.h"
#include "nn/simple_layers.h"
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
  if (auto strategy = distribute::current_strategy()) {
    state_->strategy = strategy;
    state_->device = strategy->devices.front();
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

void Model::compile(const Optimizer& optimizer, const std::string& loss_name,
                         const std::vector<std::string>& metrics, bool from_logits) {
  auto& s = *state_;
  std::string name = loss_name;
  bool logits = from_logits;
  if (const auto colon = name.find(":from_logits"); colon != std::string::npos) {
    logits = true;
    name = name.substr(0, colon);
  }
  using backends::LossKind;
  using backends::MetricKind;
  if (name == "sparse_categorical_crossentropy") {
    s.loss.kind = LossKind::sparse_categorical_crossentropy;
  } else if (name == "categorical_crossentropy") {
    s.loss.kind = LossKind::categorical_crossentropy;
  } else if (name == "binary_crossentropy") {
    s.loss.kind = LossKind::binary_crossentropy;
  } else if (name == "mean_squared_error" || name == "mse") {
    s.loss.kind = LossKind::mean_squared_error;
    logits = false;
  } else {
    throw ValueError("unknown loss \"" + loss_name +
                     "\"; expected sparse_categorical_crossentropy, categorical_crossentropy, "
                     "binary_crossentropy or mean_squared_error");
  }
  s.loss.from_logits = logits;
  s.loss.name = name;
  s.metrics.clear();
  for (const std::string& m : metrics) {
    MetricKind kind;
    if (m == "accuracy" || m == "acc") {
      // Keras resolves "accuracy" from the loss.
      switch (s.loss.kind) {
        case LossKind::sparse_categorical_crossentropy: kind = MetricKind::sparse_categorical_accuracy; break;
        case LossKind::categorical_crossentropy: kind = MetricKind::categorical_accuracy; break;
        case LossKind::binary_crossentropy: kind = MetricKind::binary_accuracy; break;
        default:
          kind = s.built() && s.output_shape()[-1] > 1 ? MetricKind::categorical_accuracy : MetricKind::binary_accuracy;
      }
    } else if (m == "sparse_categorical_accuracy") {
      kind = MetricKind::sparse_categorical_accuracy;
    } else if (m == "categorical_accuracy") {
      kind = MetricKind::categorical_accuracy;
    } else if (m == "binary_accuracy") {
      kind = MetricKind::binary_accuracy;
    } else {
      throw ValueError("unknown metric \"" + m +
                       "\"; expected accuracy, sparse_categorical_accuracy, categorical_accuracy or binary_accuracy");
    }
    s.metrics.push_back({kind, m});
  }
  s.optimizer = optimizer.impl();
  s.compiled = true;
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

}  // namespace kerosene
