#include "saving/model_config.h"

#include <algorithm>

#include "kerosene/error.h"
#include "nn/optimizer.h"
#include "saving/functional_config.h"
#include "saving/layer_codecs.h"
#include "saving/metric_codec.h"
#include "saving/optimizer_config.h"
#include "train/loss_catalog.h"
#include "train/model_state.h"

namespace kerosene::saving {
namespace {

// --- Losses and metrics -------------------------------------------------------------------------

// A loss as Keras writes it: its name when compile was given a name (from_logits aside), else
// the loss object with its class's config (train/loss_catalog.h has the names and classes).
ordered_json loss_json(const train::LossConfig& loss) {
  using backends::LossKind;
  if (!loss.as_object && !loss.from_logits) return loss.name;
  const train::LossEntry& entry = train::loss_entry(loss.kind);
  ordered_json c;
  c["name"] = entry.config_name;
  c["reduction"] = train::reduction_name(loss.reduction);
  if (loss.kind == LossKind::sparse_categorical_crossentropy) {
    c["from_logits"] = loss.from_logits;
    c["ignore_class"] = nullptr;
  } else if (entry.takes_logits) {
    c["from_logits"] = loss.from_logits;
    c["label_smoothing"] = train::as_written(loss.label_smoothing);
    c["axis"] = -1;
  } else if (loss.kind == LossKind::huber && loss.delta != 1.0f) {
    c["delta"] = train::as_written(loss.delta);  // Keras' Huber.get_config leaves delta out; its __init__ takes it
  }
  return keras_envelope("keras.losses", entry.keras_class, std::move(c));
}

// "categorical_crossentropy", "mse", or a loss object; returns the spec compile() takes.
std::string decode_loss(const json& v, const std::string& file) {
  std::string where = file;
  where += ": compile config";
  if (v.is_string()) {
    const std::string name = v.get<std::string>();
    const train::LossEntry* entry = train::find_loss(name);
    if (entry == nullptr) {
      throw ValueError(where + ": option \"loss\": kerosene has no loss \"" + name + "\" (it has " +
                       train::loss_names() + ")");
    }
    return entry->name;
  }
  if (!v.is_object() || !v.contains("class_name") || !v["class_name"].is_string()) {
    throw ValueError(where + ": option \"loss\": expected a loss name or a loss object, found " + describe(v));
  }
  const std::string class_name = v["class_name"].get<std::string>();
  const train::LossEntry* entry = train::find_loss(class_name);
  if (entry == nullptr) {
    throw ValueError(where + ": option \"loss\": kerosene has no loss class \"" + class_name + "\" (it has " +
                     train::loss_names() + ")");
  }
  static const json empty = json::object();
  ConfigFields f(v.contains("config") && v["config"].is_object() ? v["config"] : empty,
                 where + ": loss " + class_name);
  train::LossConfig loss;
  loss.kind = entry->kind;
  loss.name = entry->name;
  loss.as_object = true;
  if (entry->takes_logits) {
    loss.from_logits = f.boolean("from_logits", false);
  } else {
    f.require_default("from_logits", false);
  }
  if (entry->takes_label_smoothing) {
    loss.label_smoothing = static_cast<float>(f.number("label_smoothing", 0.0));
    if (loss.label_smoothing < 0.0f || loss.label_smoothing > 1.0f) f.fail("label_smoothing", "a number in [0, 1]");
  } else {
    f.require_default("label_smoothing", 0.0);
  }
  if (entry->kind == backends::LossKind::huber) {
    loss.delta = static_cast<float>(f.number("delta", 1.0));
    if (!(loss.delta > 0.0f)) f.fail("delta", "a number > 0");
  }
  const json& reduction = f.raw("reduction");
  if (reduction.is_null() && f.has("reduction")) {
    f.fail("reduction", "sum_over_batch_size or sum (kerosene's fit cannot minimise a loss left unreduced)");
  }
  if (reduction.is_string()) {
    const std::string r = reduction.get<std::string>();
    if (r == "sum") {
      loss.reduction = train::Reduction::sum;
    } else if (r != "sum_over_batch_size" && r != "mean") {
      f.fail("reduction", "sum_over_batch_size or sum (kerosene's fit cannot minimise a loss left unreduced)");
    }
  } else if (!reduction.is_null()) {
    f.fail("reduction", "sum_over_batch_size or sum");
  }
  f.require_default("ignore_class");
  f.require_default("axis", -1);
  f.ignore({"name", "dtype", "fn"});
  f.finish();
  return train::loss_spec(loss);
}

std::vector<std::string> decode_metric_list(const json& v, const std::string& file) {
  std::vector<std::string> out;
  if (v.is_null()) return out;
  json list = v;
  if (!list.is_array()) list = json::array({list});
  for (const json& m : list) {
    std::string name;
    if (const std::optional<std::string> counting = m.is_object() ? decode_counting_metric(m, file) : std::nullopt) {
      out.push_back(*counting);
      continue;
    }
    if (m.is_string()) {
      name = m.get<std::string>();
    } else if (m.is_object() && m.contains("config") && m["config"].is_object() && m["config"].contains("name") &&
               m["config"]["name"].is_string()) {
      name = m["config"]["name"].get<std::string>();
      // Precision/Recall objects: kerosene's count at threshold 0.5, over every class.
      const json& c = m["config"];
      const bool default_threshold =
          !c.contains("thresholds") || c["thresholds"].is_null() ||
          (c["thresholds"].is_number() && c["thresholds"].get<double>() == 0.5);
      const bool every_class = (!c.contains("top_k") || c["top_k"].is_null()) &&
                               (!c.contains("class_id") || c["class_id"].is_null());
      if (!default_threshold || !every_class) {
        throw ValueError(file + ": compile config: metric \"" + name + "\": kerosene has it at thresholds=0.5 " +
                         "with no top_k or class_id, found " + describe(m["config"]));
      }
    } else {
      throw ValueError(file + ": compile config: option \"metrics\": expected metric names, found " + describe(m));
    }
    if (name == "acc") name = "accuracy";
    out.push_back(name);
  }
  return out;
}

/// A compile option Keras writes as one value for every output, a list (one per output) or a
/// dict keyed by output name: one value per output, in output order (or one for all).
std::vector<json> per_output(const json& v, const std::vector<std::string>& outputs, const char* option,
                             const std::string& file) {
  if (v.is_object() && !v.contains("class_name")) {
    std::vector<json> out;
    for (const auto& [key, value] : v.items()) {
      if (std::find(outputs.begin(), outputs.end(), key) == outputs.end()) {
        throw ValueError(file + ": compile config: option \"" + option + "\" names output \"" + key +
                         "\", which the model does not have");
      }
    }
    for (const auto& name : outputs) out.push_back(v.contains(name) ? v[name] : json());
    return out;
  }
  if (v.is_array()) {
    if (outputs.size() > 1) return std::vector<json>(v.begin(), v.end());
    // One output given as a list of one (Keras 2 wrote metrics as [["accuracy"]]); a flat list
    // of metrics is that output's list.
    if (v.size() == 1 && (v[0].is_array() || std::string(option) != "metrics")) return {v[0]};
  }
  return {v};
}

ordered_json compile_config_json(const train::ModelState& s) {
  ordered_json cc;
  cc["optimizer"] = optimizer_envelope(*s.optimizer);
  // As Keras writes what compile was given: one loss when every output has the same, else a
  // list; loss_weights only when one is not 1; metrics as a list per output when several.
  bool same_loss = true, unit_weights = true;
  for (const auto& l : s.losses) {
    same_loss = same_loss && loss_json(l) == loss_json(s.losses.front());
    unit_weights = unit_weights && l.weight == 1.0f;
  }
  if (same_loss) {
    cc["loss"] = loss_json(s.losses.front());
  } else {
    cc["loss"] = ordered_json::array();
    for (const auto& l : s.losses) cc["loss"].push_back(loss_json(l));
  }
  if (unit_weights) {
    cc["loss_weights"] = nullptr;
  } else {
    cc["loss_weights"] = ordered_json::array();
    for (const auto& l : s.losses) cc["loss_weights"].push_back(static_cast<double>(l.weight));
  }
  // Keras' metrics and weighted_metrics: a list, or one list per output; null when empty.
  auto metric_names = [&](bool weighted) {
    ordered_json names = ordered_json::array();
    bool any = false;
    for (size_t o = 0; o < s.losses.size(); ++o) {
      ordered_json mine = ordered_json::array();
      for (const auto& m : s.metrics) {
        if (m.output == static_cast<int>(o) && m.weighted == weighted) mine.push_back(metric_json(m));
      }
      any = any || !mine.empty();
      if (s.losses.size() > 1) {
        names.push_back(mine);
      } else {
        names = mine;
      }
    }
    return any ? names : ordered_json(nullptr);
  };
  cc["metrics"] = metric_names(false);
  cc["weighted_metrics"] = metric_names(true);
  cc["run_eagerly"] = false;
  cc["steps_per_execution"] = 1;
  cc["jit_compile"] = false;
  return cc;
}

}  // namespace

ordered_json model_envelope(const Model& model) {
  const train::ModelState& s = model.state();
  if (s.functional) {
    ordered_json e = keras_envelope("keras.src.models.functional", "Functional", functional_config(model));
    e["registered_name"] = "Functional";
    e["build_config"] = {{"input_shape", nullptr}};
    if (s.compiled) e["compile_config"] = compile_config_json(s);
    return e;
  }
  ordered_json layers = ordered_json::array();
  std::optional<Shape> input;
  if (s.built()) {
    input = s.layers.front()->input_shape();
  } else if (s.declared_input) {
    input = s.declared_input;
  }
  if (input) layers.push_back(input_layer_envelope(*input, "input_layer"));
  for (const auto& layer : s.layers) layers.push_back(layer_envelope(*layer));
  ordered_json c;
  c["name"] = s.name;
  c["trainable"] = true;
  c["dtype"] = "float32";
  c["layers"] = std::move(layers);
  ordered_json batch_shape = ordered_json::array();
  if (input) {
    batch_shape.push_back(nullptr);
    for (int64_t d : input->to_vector()) batch_shape.push_back(d);
  }
  c["build_input_shape"] = input ? batch_shape : ordered_json(nullptr);
  ordered_json e = keras_envelope("keras", "Sequential", std::move(c));
  if (input) e["build_config"] = {{"input_shape", batch_shape}};
  if (s.compiled) e["compile_config"] = compile_config_json(s);
  return e;
}

Model decode_model(const json& e, const std::string& file, const std::optional<std::string>& keras_version) {
  if (!e.is_object() || !e.contains("class_name") || !e["class_name"].is_string()) {
    throw ValueError(file + ": expected a model config ({\"class_name\": \"Sequential\", ...}), found " + describe(e));
  }
  const std::string class_name = e["class_name"].get<std::string>();
  std::string version = keras_version.value_or("");
  if (!keras_version && e.contains("keras_version") && e["keras_version"].is_string()) version = e["keras_version"].get<std::string>();
  const KerasGeneration generation =
      version.rfind("1.", 0) == 0 || version.rfind("2.", 0) == 0 ? KerasGeneration::keras2 : KerasGeneration::keras3;
  if (class_name == "Functional" || class_name == "Model") {
    if (!e.contains("config")) throw ValueError(file + ": the Functional model has no \"config\"");
    return decode_functional(e["config"], file, generation);
  }
  if (class_name != "Sequential") {
    throw ValueError(file + ": the model is a " + class_name + "; kerosene loads Sequential and Functional models");
  }
  if (!e.contains("config") || !e["config"].is_object() || !e["config"].contains("layers") ||
      !e["config"]["layers"].is_array()) {
    throw ValueError(file + ": the Sequential config has no \"layers\" list");
  }
  const json& config = e["config"];
  const std::string name = config.value("name", std::string("sequential"));
  std::vector<Layer> layers;
  std::optional<Shape> input;
  for (const json& layer_json : config["layers"]) {
    DecodedLayer d = decode_layer(layer_json, file, generation);
    if (d.input_shape && layers.empty() && !input) input = d.input_shape;
    if (d.layer) layers.emplace_back(d.layer);
  }
  if (!input && config.contains("build_input_shape") && config["build_input_shape"].is_array()) {
    ConfigFields f(config, file + ": model \"" + name + "\"");
    const auto batch_shape = f.shape("build_input_shape");
    std::vector<int64_t> dims;
    bool known = !batch_shape.empty();
    for (size_t i = 1; i < batch_shape.size(); ++i) {
      if (!batch_shape[i]) known = false;
      else dims.push_back(*batch_shape[i]);
    }
    if (known) input = Shape(dims);
  }
  if (layers.empty()) throw ValueError(file + ": model \"" + name + "\" has no layers");
  Sequential model({}, name);
  if (input) model.add(layers::Input(*input));
  for (const Layer& l : layers) {
    try {
      model.add(l);
    } catch (const ValueError& error) {
      throw ValueError(file + ": " + error.what());
    }
  }
  return model;
}

void compile_from_config(Model& model, const json& cc, const std::string& file, bool legacy) {
  if (!cc.is_object()) throw ValueError(file + ": expected a compile config object, found " + describe(cc));
  ConfigFields f(cc, file + ": compile config");
  const json& optimizer_json = f.raw(legacy ? "optimizer_config" : "optimizer");
  std::shared_ptr<nn::Optimizer> optimizer =
      optimizer_json.is_null() ? optimizers::get("rmsprop").impl() : decode_optimizer(optimizer_json, file);
  const std::vector<std::string> outputs = model.state().output_names();
  CompileOptions options;
  for (const json& loss : per_output(f.raw("loss"), outputs, "loss", file)) options.loss.push_back(decode_loss(loss, file));
  const json& weights = f.raw("loss_weights");
  if (!weights.is_null()) {
    for (const json& w : per_output(weights, outputs, "loss_weights", file)) {
      if (!w.is_number()) {
        throw ValueError(file + ": compile config: option \"loss_weights\": expected numbers, found " + describe(w));
      }
      options.loss_weights.push_back(w.get<float>());
    }
  }
  const json& metrics = f.raw("metrics");
  if (!metrics.is_null()) {
    for (const json& m : per_output(metrics, outputs, "metrics", file)) options.metrics.push_back(decode_metric_list(m, file));
  }
  const json& weighted_metrics = f.raw("weighted_metrics");
  if (!weighted_metrics.is_null()) {
    for (const json& m : per_output(weighted_metrics, outputs, "weighted_metrics", file)) {
      options.weighted_metrics.push_back(decode_metric_list(m, file));
    }
  }
  f.ignore({"run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss", "sample_weight_mode"});
  f.finish();
  try {
    model.compile(Optimizer(optimizer), options);
  } catch (const ValueError& error) {
    throw ValueError(file + ": compile config: " + error.what());
  }
}

}  // namespace kerosene::saving
