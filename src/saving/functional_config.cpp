#include "saving/functional_config.h"

#include <map>

#include "kerosene/error.h"
#include "saving/layer_codecs.h"
#include "train/model_state.h"

namespace kerosene::saving {
namespace {

ordered_json batch_shape_json(const Shape& shape) {
  ordered_json out = ordered_json::array();
  out.push_back(nullptr);
  for (int64_t d : shape.to_vector()) out.push_back(d);
  return out;
}

/// Per node: the name of the layer (or input) that computes it and which call of it that is.
struct History {
  std::vector<std::string> name;
  std::vector<int> call;
};

History histories(const train::ModelState& s) {
  History h;
  std::map<int, int> calls;  // first-call node -> calls so far
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const train::Node& node = s.nodes[i];
    if (node.is_input()) {
      h.name.push_back(node.input_name);
      h.call.push_back(0);
      continue;
    }
    const int owner = node.first_call >= 0 ? node.first_call : static_cast<int>(i);
    h.name.push_back(node.layer->name());
    h.call.push_back(calls[owner]++);
  }
  return h;
}

ordered_json tensor_refs(const train::ModelState& s, const History& h, const std::vector<int>& nodes) {
  auto ref = [&](int n) { return ordered_json::array({h.name[static_cast<size_t>(n)], h.call[static_cast<size_t>(n)], 0}); };
  if (nodes.size() == 1) return ref(nodes[0]);  // Keras writes one tensor flat
  ordered_json out = ordered_json::array();
  for (int n : nodes) out.push_back(ref(n));
  return out;
}

}  // namespace

ordered_json functional_config(const Model& model) {
  const train::ModelState& s = model.state();
  const History h = histories(s);
  ordered_json layers = ordered_json::array();
  for (int op : s.keras_order) {
    const train::Node& node = s.nodes[static_cast<size_t>(op)];
    if (node.is_input()) {
      ordered_json e = input_layer_envelope(node.shape, node.input_name);
      e["name"] = node.input_name;
      e["inbound_nodes"] = ordered_json::array();
      layers.push_back(std::move(e));
      continue;
    }
    ordered_json e = layer_envelope(*node.layer);
    e["name"] = node.layer->name();
    ordered_json calls = ordered_json::array();
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      const train::Node& call = s.nodes[i];
      if (static_cast<int>(i) != op && call.first_call != op) continue;
      ordered_json tensors = ordered_json::array();
      for (int t : call.inputs) {
        ordered_json c;
        c["shape"] = batch_shape_json(s.nodes[static_cast<size_t>(t)].shape);
        c["dtype"] = "float32";
        c["keras_history"] = ordered_json::array({h.name[static_cast<size_t>(t)], h.call[static_cast<size_t>(t)], 0});
        tensors.push_back({{"class_name", "__keras_tensor__"}, {"config", std::move(c)}});
      }
      ordered_json args = ordered_json::array();
      args.push_back(call.inputs.size() == 1 ? tensors[0] : tensors);
      calls.push_back({{"args", std::move(args)}, {"kwargs", ordered_json::object()}});
    }
    e["inbound_nodes"] = std::move(calls);
    layers.push_back(std::move(e));
  }
  ordered_json c;
  c["name"] = s.name;
  c["trainable"] = true;
  c["layers"] = std::move(layers);
  c["input_layers"] = tensor_refs(s, h, s.input_nodes);
  c["output_layers"] = tensor_refs(s, h, s.output_nodes);
  return c;
}

namespace {

struct Ref {
  std::string layer;
  int call = 0;
};

/// [name, call, index] (Keras 3 keras_history, the model's input/output lists, Keras 2's
/// inbound node entries [name, call, index, kwargs]).
Ref read_ref(const json& j, const std::string& where) {
  if (!j.is_array() || j.size() < 3 || !j[0].is_string() || !j[1].is_number_integer() || !j[2].is_number_integer()) {
    throw ValueError(where + ": expected a tensor reference [layer name, node index, tensor index], found " + describe(j));
  }
  if (j[2].get<int>() != 0) throw ValueError(where + ": layers with several outputs are not supported (tensor index " + j[2].dump() + ")");
  if (j.size() > 3 && !(j[3].is_null() || (j[3].is_object() && j[3].empty()))) {
    throw ValueError(where + ": call arguments " + j[3].dump() + " are not supported");
  }
  return {j[0].get<std::string>(), j[1].get<int>()};
}

std::vector<Ref> read_refs(const json& j, const std::string& where) {
  if (j.is_array() && !j.empty() && j[0].is_string()) return {read_ref(j, where)};
  if (!j.is_array()) throw ValueError(where + ": expected a list of tensor references, found " + describe(j));
  std::vector<Ref> out;
  for (const json& r : j) out.push_back(read_ref(r, where));
  return out;
}

/// One call's input tensors, in Keras 3's form ({"args": [tensor or [tensors]], "kwargs": {}})
/// or Keras 2's ([[name, call, index, kwargs], ...]).
std::vector<Ref> call_inputs(const json& call, const std::string& where) {
  if (call.is_array()) return read_refs(call, where);
  if (!call.is_object() || !call.contains("args") || !call["args"].is_array() || call["args"].size() != 1) {
    throw ValueError(where + ": expected an inbound node {\"args\": [inputs], \"kwargs\": {}}, found " + describe(call));
  }
  if (call.contains("kwargs") && !(call["kwargs"].is_object() && call["kwargs"].empty())) {
    throw ValueError(where + ": call arguments " + call["kwargs"].dump() + " are not supported");
  }
  auto tensor = [&](const json& t) {
    if (!t.is_object() || t.value("class_name", "") != "__keras_tensor__" || !t.contains("config") ||
        !t["config"].is_object() || !t["config"].contains("keras_history")) {
      throw ValueError(where + ": expected a __keras_tensor__, found " + describe(t));
    }
    return read_ref(t["config"]["keras_history"], where);
  };
  const json& arg = call["args"][0];
  if (arg.is_array()) {
    std::vector<Ref> out;
    for (const json& t : arg) out.push_back(tensor(t));
    return out;
  }
  return {tensor(arg)};
}

}  // namespace

Model decode_functional(const json& config, const std::string& file, KerasGeneration generation) {
  if (!config.is_object() || !config.contains("layers") || !config["layers"].is_array()) {
    throw ValueError(file + ": the Functional config has no \"layers\" list");
  }
  const std::string name = config.value("name", std::string("functional"));
  const std::string where = file + ": model \"" + name + "\"";
  struct Pending {
    std::string name;
    std::shared_ptr<nn::Layer> layer;  // null: an input
    std::vector<std::vector<Ref>> calls;
  };
  std::vector<Pending> pending;
  std::map<std::string, std::vector<KerasTensor>> outputs;  // layer name -> one tensor per call
  for (const json& entry : config["layers"]) {
    DecodedLayer d = decode_layer(entry, file, generation);
    std::string layer_name = entry.contains("name") && entry["name"].is_string() ? entry["name"].get<std::string>()
                             : d.layer                                         ? d.layer->name()
                                      : entry["config"].value("name", std::string("input_layer"));
    if (outputs.count(layer_name)) throw ValueError(where + ": two layers are named \"" + layer_name + "\"");
    outputs[layer_name];
    if (!d.layer) {
      if (!d.input_shape) throw ValueError(where + ": InputLayer \"" + layer_name + "\" has no shape");
      outputs[layer_name].push_back(Input(*d.input_shape, layer_name));
      continue;
    }
    Pending p{layer_name, d.layer, {}};
    if (entry.contains("inbound_nodes") && entry["inbound_nodes"].is_array()) {
      for (const json& call : entry["inbound_nodes"]) p.calls.push_back(call_inputs(call, where + ", layer \"" + layer_name + "\""));
    }
    pending.push_back(std::move(p));
  }
  // Calls in any order of the list: each runs once the tensors it takes exist.
  std::vector<size_t> done(pending.size(), 0);
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < pending.size(); ++i) {
      Pending& p = pending[i];
      while (done[i] < p.calls.size()) {
        std::vector<KerasTensor> inputs;
        for (const Ref& r : p.calls[done[i]]) {
          auto it = outputs.find(r.layer);
          if (it == outputs.end()) throw ValueError(where + ": layer \"" + p.name + "\" takes the output of \"" + r.layer + "\", which the model does not have");
          if (r.call >= static_cast<int>(it->second.size())) break;
          inputs.push_back(it->second[static_cast<size_t>(r.call)]);
        }
        if (inputs.size() != p.calls[done[i]].size()) break;
        try {
          Layer layer(p.layer);
          outputs[p.name].push_back(inputs.size() == 1 ? layer(inputs[0]) : layer(inputs));
        } catch (const ValueError& error) {
          throw ValueError(file + ": " + error.what());
        }
        ++done[i];
        progress = true;
      }
    }
  }
  for (size_t i = 0; i < pending.size(); ++i) {
    if (done[i] < pending[i].calls.size()) {
      throw ValueError(where + ": layer \"" + pending[i].name + "\" takes tensors that no layer makes (a cycle or a missing layer)");
    }
  }
  auto tensors_of = [&](const char* key) {
    if (!config.contains(key)) throw ValueError(where + ": the config has no \"" + key + "\"");
    std::vector<KerasTensor> out;
    for (const Ref& r : read_refs(config[key], where + ": " + key)) {
      auto it = outputs.find(r.layer);
      if (it == outputs.end() || r.call >= static_cast<int>(it->second.size())) {
        throw ValueError(where + ": " + key + " names \"" + r.layer + "\" call " + std::to_string(r.call) + ", which the model does not have");
      }
      out.push_back(it->second[static_cast<size_t>(r.call)]);
    }
    return out;
  };
  try {
    return Model(tensors_of("input_layers"), tensors_of("output_layers"), name);
  } catch (const ValueError& error) {
    const std::string text = error.what();
    throw ValueError(text.rfind(file, 0) == 0 ? text : file + ": " + text);
  }
}

}  // namespace kerosene::saving
