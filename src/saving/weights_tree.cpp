// The weights tree of Keras 3's model.weights.h5 and .weights.h5 (keras-formats.md section 1.4):
//   /vars                       the model (no datasets; attribute name)
//   /layers/<snake_case>[_N]/vars/<i>   each layer's variables (kernel 0, bias 1)
//   /optimizer/vars/<i>         iteration, learning rate, then the slots in Keras' order
// Layers are named by class, numbered within the list, never by their .name: a file whose layer
// names differ from the model's still loads, as in Keras.
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>

#include "kerosene/error.h"
#include "nn/optimizer.h"
#include "ops/ops.h"
#include "saving/layer_codecs.h"
#include "saving/model_file.h"
#include "train/model_state.h"

namespace kerosene::saving {
namespace {

data::Array to_array(const Tensor& t) {
  const Tensor host = t.device().is_cpu() ? t : t.to(Device());
  data::Array a;
  a.shape = host.shape().to_vector();
  a.dtype = host.dtype();
  a.bytes.resize(host.nbytes());
  if (!a.bytes.empty()) std::memcpy(a.bytes.data(), host.raw_data(), a.bytes.size());
  return a;
}

template <typename T>
data::Array scalar(DType dtype, T value) {
  data::Array a;
  a.dtype = dtype;
  a.bytes.resize(sizeof(T));
  std::memcpy(a.bytes.data(), &value, sizeof(T));
  return a;
}

std::string shape_text(const std::vector<int64_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) {
    s += std::to_string(dims[i]);
    if (i + 1 < dims.size() || dims.size() == 1) s += ",";
    if (i + 1 < dims.size()) s += " ";
  }
  return s + ")";
}

/// Group names of the model's layers in the file: snake_case class, "_1", "_2"... per name.
std::vector<std::string> layer_keys(const train::ModelState& s) {
  std::map<std::string, int> seen;
  std::vector<std::string> keys;
  for (const auto& layer : s.layers) {
    const std::string base = snake_case(layer->class_name());
    const int n = seen[base]++;
    keys.push_back(n == 0 ? base : base + "_" + std::to_string(n));
  }
  return keys;
}

/// The optimizer's slots in the order Keras stores them: the moving averages and gradient
/// accumulators (base_state), then group by group (keras_slot_groups), each group's slots
/// interleaved per variable (Adam: m0 v0 m1 v1 ..., then v_hat0 v_hat1 ...).
std::vector<Tensor*> keras_slot_order(nn::Optimizer& optimizer, const std::vector<nn::Variable*>& variables) {
  std::vector<Tensor>& slots = optimizer.slots(variables);
  const int per = optimizer.slots_per_variable();
  std::vector<Tensor*> out = optimizer.base_state();
  for (const std::vector<int>& group : optimizer.keras_slot_groups()) {
    for (size_t i = 0; i < variables.size(); ++i) {
      for (int k : group) out.push_back(&slots[i * per + k]);
    }
  }
  return out;
}

/// Keras keeps a learning_rate variable (after the iteration) only when it is a number, not a
/// schedule.
bool saves_learning_rate(const nn::Optimizer& optimizer) { return optimizer.schedule == nullptr; }

void copy_into(Tensor& target, data::Array&& array, const std::string& what, const std::string& origin) {
  const std::vector<int64_t> want = target.shape().to_vector();
  if (array.shape != want) {
    throw ValueError(origin + ": " + what + ": the model's weight has shape " + shape_text(want) + ", the file's " +
                     shape_text(array.shape));
  }
  Tensor src = data::to_tensor(std::move(array)).astype(DType::float32).to(target.device());
  ops::backend_of("copy_on_device", target).copy_on_device(target.raw_data(), src.raw_data(), src.nbytes());
}

int count_numbered(const io::H5Group& vars) {
  int n = 0;
  while (vars.has_dataset(std::to_string(n))) ++n;
  return n;
}

}  // namespace

void write_weights(const Model& model, io::H5Group root, bool include_optimizer) {
  train::ModelState& s = model.state();
  if (!s.built()) throw ValueError("model \"" + s.name + "\" is not built: build it (or fit it) before saving its weights");
  root.create_group("vars").set_string_attribute("name", s.name);
  io::H5Group layers = root.create_group("layers");
  const auto keys = layer_keys(s);
  for (size_t i = 0; i < s.layers.size(); ++i) {
    io::H5Group vars = layers.create_group(keys[i]).create_group("vars");
    vars.set_string_attribute("name", s.layers[i]->name());
    const auto& variables = s.layers[i]->variables();
    for (size_t v = 0; v < variables.size(); ++v) vars.write_dataset(std::to_string(v), to_array(variables[v].value));
  }
  // A Functional model's layers include its InputLayers (no variables), as Keras writes them.
  for (size_t i = 0; s.functional && i < s.input_nodes.size(); ++i) {
    io::H5Group vars = layers.create_group(i == 0 ? "input_layer" : "input_layer_" + std::to_string(i)).create_group("vars");
    vars.set_string_attribute("name", s.nodes[static_cast<size_t>(s.input_nodes[i])].input_name);
  }
  if (!include_optimizer || !s.compiled || !s.optimizer->has_state()) return;
  nn::Optimizer& optimizer = *s.optimizer;
  io::H5Group vars = root.create_group("optimizer").create_group("vars");
  vars.set_string_attribute("name", optimizer.name());
  vars.write_dataset("0", scalar<int64_t>(DType::int64, optimizer.steps()));
  int index = 1;
  if (saves_learning_rate(optimizer)) vars.write_dataset(std::to_string(index++), scalar<float>(DType::float32, optimizer.learning_rate));
  for (Tensor* slot : keras_slot_order(optimizer, s.variables())) vars.write_dataset(std::to_string(index++), to_array(*slot));
  for (float* value : optimizer.scalar_state()) vars.write_dataset(std::to_string(index++), scalar<float>(DType::float32, *value));
}

void read_weights(Model& model, const io::H5Group& root) {
  train::ModelState& s = model.state();
  const std::string& origin = root.origin();
  if (!s.built()) throw ValueError("model \"" + s.name + "\" is not built: build it before loading weights from " + origin);
  // tf.keras 2.13+ .weights.h5 files name the list _layer_checkpoint_dependencies.
  const char* list = root.has_group("layers") ? "layers" : "_layer_checkpoint_dependencies";
  if (!root.has_group(list)) {
    throw IOError(origin + ": expected a Keras weights file (a group \"layers\"), found members: " + [&] {
      std::string names;
      for (const auto& m : root.members()) names += (names.empty() ? "" : ", ") + m;
      return names.empty() ? std::string("none") : names;
    }());
  }
  const io::H5Group layers = root.group(list);
  const auto keys = layer_keys(s);
  // Read everything first, so a file that does not fit changes nothing.
  std::vector<std::vector<data::Array>> values(s.layers.size());
  for (size_t i = 0; i < s.layers.size(); ++i) {
    auto& variables = s.layers[i]->variables();
    std::string what = "layer \"";
    what += s.layers[i]->name();
    what += "\" (";
    what += s.layers[i]->class_name();
    what += ")";
    if (!layers.has_group(keys[i])) {
      if (variables.empty()) continue;
      throw ValueError(origin + ": " + what + ": expected the group " + layers.path() + "/" + keys[i] +
                       " with its weights; the file has " + std::to_string(layers.members().size()) + " layer groups");
    }
    const io::H5Group group = layers.group(keys[i]);
    const int stored = group.has_group("vars") ? count_numbered(group.group("vars")) : 0;
    if (stored != static_cast<int>(variables.size())) {
      throw ValueError(origin + ": " + what + " has " + std::to_string(variables.size()) + " weights, the file's " +
                       group.path() + " has " + std::to_string(stored));
    }
    for (size_t v = 0; v < variables.size(); ++v) {
      data::Array a = group.group("vars").read_dataset(std::to_string(v));
      if (a.shape != variables[v].value.shape().to_vector()) {
        throw ValueError(origin + ": " + what + ": weight " + variables[v].name + " has shape " +
                         shape_text(variables[v].value.shape().to_vector()) + " in the model, " + shape_text(a.shape) +
                         " in the file");
      }
      values[i].push_back(std::move(a));
    }
  }
  for (size_t i = 0; i < s.layers.size(); ++i) {
    auto& variables = s.layers[i]->variables();
    for (size_t v = 0; v < values[i].size(); ++v) {
      copy_into(variables[v].value, std::move(values[i][v]), "layer \"" + s.layers[i]->name() + "\"", origin);
    }
  }
  if (!s.compiled || !root.has_group("optimizer")) return;
  const io::H5Group optimizer_group = root.group("optimizer");
  if (!optimizer_group.has_group("vars")) return;
  const io::H5Group vars = optimizer_group.group("vars");
  nn::Optimizer& optimizer = *s.optimizer;
  const std::vector<nn::Variable*> variables = s.variables();
  // Count what the state would be without creating it: slots exist only after a step.
  const int first_slot = saves_learning_rate(optimizer) ? 2 : 1;
  int expected = first_slot + static_cast<int>(optimizer.scalar_state().size());
  const nn::Optimizer::Config config = optimizer.config();
  const bool accumulates = config.gradient_accumulation_steps.value_or(0) != 0;
  expected += static_cast<int>((config.use_ema + accumulates) * variables.size());
  for (const std::vector<int>& group : optimizer.keras_slot_groups()) {
    expected += static_cast<int>(group.size() * variables.size());
  }
  const int stored = count_numbered(vars);
  if (stored != expected) {
    std::cerr << "kerosene: warning: " << origin << ": skipping the optimizer's state: the model's "
              << optimizer.name() << " has " << expected << " variables, the file's optimizer has " << stored << "\n";
    return;
  }
  // A scalar of any numeric dtype (Keras' iteration is int64 with TensorFlow, int32 with JAX).
  auto read_scalar = [&](int k) {
    data::Array a = vars.read_dataset(std::to_string(k));
    if (!a.shape.empty()) {
      throw IOError(origin + ": " + vars.path() + ": expected optimizer variable " + std::to_string(k) +
                    " to be a scalar, found shape " + shape_text(a.shape));
    }
    return data::to_tensor(std::move(a));
  };
  const int64_t iteration_value = read_scalar(0).to_vector<int64_t>()[0];
  const float lr_value = first_slot == 2 ? read_scalar(1).to_vector<float>()[0] : 0.0f;
  std::vector<data::Array> slot_values;
  std::vector<Tensor*> slots = keras_slot_order(optimizer, variables);
  for (size_t k = 0; k < slots.size(); ++k) {
    data::Array a = vars.read_dataset(std::to_string(k + first_slot));
    if (a.shape != slots[k]->shape().to_vector()) {
      throw ValueError(origin + ": optimizer variable " + std::to_string(k + first_slot) + " has shape " +
                       shape_text(a.shape) + ", the model's " + shape_text(slots[k]->shape().to_vector()));
    }
    slot_values.push_back(std::move(a));
  }
  std::vector<float> scalar_values;
  const std::vector<float*> scalars = optimizer.scalar_state();
  for (size_t k = 0; k < scalars.size(); ++k) {
    scalar_values.push_back(read_scalar(static_cast<int>(first_slot + slots.size() + k)).to_vector<float>()[0]);
  }
  for (size_t k = 0; k < slots.size(); ++k) copy_into(*slots[k], std::move(slot_values[k]), "optimizer", origin);
  for (size_t k = 0; k < scalars.size(); ++k) *scalars[k] = scalar_values[k];
  optimizer.set_steps(iteration_value);
  if (std::isfinite(lr_value) && lr_value > 0) optimizer.learning_rate = lr_value;
}

}  // namespace kerosene::saving
