#include "saving/optimizer_config.h"

#include <charconv>
#include <cmath>

#include "kerosene/error.h"
#include "kerosene/optimizers.h"
#include "nn/optimizer.h"

namespace kerosene::saving {
namespace {

namespace schedules = optimizers::schedules;

// A schedule's numbers are Python floats in Keras' config: the float's shortest decimal form
// (0.1f -> 0.1), so a schedule Keras wrote is written back with the same numbers.
double shortest(float value) {
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::strtod(std::string(text, end).c_str(), nullptr);
}

ordered_json optional_number(const std::optional<float>& value) {
  return value ? ordered_json(shortest(*value)) : ordered_json(nullptr);
}

ordered_json schedule_envelope(const LearningRateSchedule& schedule) {
  ordered_json c;
  if (auto* s = dynamic_cast<const schedules::ExponentialDecay*>(&schedule)) {
    c = {{"initial_learning_rate", shortest(s->initial_learning_rate)}, {"decay_steps", s->decay_steps},
         {"decay_rate", shortest(s->decay_rate)}, {"staircase", s->staircase}, {"name", s->name}};
  } else if (auto* s = dynamic_cast<const schedules::PiecewiseConstantDecay*>(&schedule)) {
    ordered_json values = ordered_json::array();
    for (float v : s->values) values.push_back(shortest(v));
    c = {{"boundaries", s->boundaries}, {"values", values}, {"name", s->name}};
  } else if (auto* s = dynamic_cast<const schedules::PolynomialDecay*>(&schedule)) {
    c = {{"initial_learning_rate", shortest(s->initial_learning_rate)}, {"decay_steps", s->decay_steps},
         {"end_learning_rate", shortest(s->end_learning_rate)}, {"power", shortest(s->power)}, {"cycle", s->cycle},
         {"name", s->name}};
  } else if (auto* s = dynamic_cast<const schedules::InverseTimeDecay*>(&schedule)) {
    c = {{"initial_learning_rate", shortest(s->initial_learning_rate)}, {"decay_steps", s->decay_steps},
         {"decay_rate", shortest(s->decay_rate)}, {"staircase", s->staircase}, {"name", s->name}};
  } else if (auto* s = dynamic_cast<const schedules::CosineDecay*>(&schedule)) {
    c = {{"initial_learning_rate", shortest(s->initial_learning_rate)}, {"decay_steps", s->decay_steps},
         {"alpha", shortest(s->alpha)}, {"name", s->name}, {"warmup_target", optional_number(s->warmup_target)},
         {"warmup_steps", s->warmup_steps}};
  } else {
    throw ValueError("cannot save the optimizer: its learning-rate schedule " + schedule.class_name() +
                     " is not one of Keras' built-in schedules (ExponentialDecay, PiecewiseConstantDecay, "
                     "PolynomialDecay, InverseTimeDecay, CosineDecay)");
  }
  return keras_envelope("keras.optimizers.schedules", schedule.class_name(), std::move(c));
}

std::shared_ptr<const LearningRateSchedule> decode_schedule(const json& e, const std::string& where_) {
  const std::string kind = e.value("class_name", std::string("?"));
  const std::string where = where_ + ": learning_rate (" + kind + ")";
  static const json empty = json::object();
  ConfigFields f(e.contains("config") ? e["config"] : empty, where);
  auto number = [&](const char* key, std::optional<double> fallback = std::nullopt) {
    return static_cast<float>(f.number(key, fallback));
  };
  std::shared_ptr<LearningRateSchedule> out;
  try {
    if (kind == "ExponentialDecay" || kind == "InverseTimeDecay") {
      const float initial = number("initial_learning_rate");
      const int64_t steps = f.integer("decay_steps");
      const float rate = number("decay_rate");
      const bool staircase = f.boolean("staircase", false);
      if (kind == "ExponentialDecay") {
        auto s = std::make_shared<schedules::ExponentialDecay>(initial, steps, rate, staircase);
        s->name = f.string("name", s->name);
        out = s;
      } else {
        auto s = std::make_shared<schedules::InverseTimeDecay>(initial, steps, rate, staircase);
        s->name = f.string("name", s->name);
        out = s;
      }
    } else if (kind == "PiecewiseConstantDecay") {
      std::vector<int64_t> boundaries;
      std::vector<float> values;
      const json& b = f.raw("boundaries");
      const json& v = f.raw("values");
      if (!b.is_array() || !v.is_array()) f.fail("boundaries", "lists of boundaries and values");
      for (const json& x : b) {
        if (!x.is_number() || x.get<double>() != std::floor(x.get<double>())) f.fail("boundaries", "whole step numbers");
        boundaries.push_back(static_cast<int64_t>(x.get<double>()));
      }
      for (const json& x : v) {
        if (!x.is_number()) f.fail("values", "numbers");
        values.push_back(x.get<float>());
      }
      auto s = std::make_shared<schedules::PiecewiseConstantDecay>(boundaries, values);
      s->name = f.string("name", s->name);
      out = s;
    } else if (kind == "PolynomialDecay") {
      const float initial = number("initial_learning_rate");
      const int64_t steps = f.integer("decay_steps");
      auto s = std::make_shared<schedules::PolynomialDecay>(initial, steps, number("end_learning_rate", 1e-4),
                                                            number("power", 1.0), f.boolean("cycle", false));
      s->name = f.string("name", s->name);
      out = s;
    } else if (kind == "CosineDecay") {
      const float initial = number("initial_learning_rate");
      const int64_t steps = f.integer("decay_steps");
      const float alpha = number("alpha", 0.0);
      std::optional<float> target;
      if (f.has("warmup_target") && !f.raw("warmup_target").is_null()) target = number("warmup_target");
      f.raw("warmup_target");
      auto s = std::make_shared<schedules::CosineDecay>(initial, steps, alpha, target, f.integer("warmup_steps", 0));
      s->name = f.string("name", s->name);
      out = s;
    } else {
      throw ValueError("kerosene has the schedules ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, "
                       "InverseTimeDecay and CosineDecay");
    }
  } catch (const ValueError& error) {
    const std::string text = error.what();
    if (text.starts_with(where)) throw;
    throw ValueError(where + ": " + text);
  }
  f.finish();
  return out;
}

// Keras' default optimizer name: the class name in snake case.
const char* keras_optimizer_name(const std::string& kind) {
  if (kind == "SGD") return "SGD";
  if (kind == "Adam") return "adam";
  if (kind == "AdamW") return "adamw";
  if (kind == "Nadam") return "nadam";
  if (kind == "Adamax") return "adamax";
  if (kind == "Adagrad") return "adagrad";
  if (kind == "Lion") return "lion";
  return "rmsprop";
}

bool known_kind(const std::string& kind) {
  for (const char* k : {"SGD", "Adam", "AdamW", "RMSprop", "Nadam", "Adamax", "Adagrad", "Lion"}) {
    if (kind == k) return true;
  }
  return false;
}

}  // namespace

ordered_json optimizer_envelope(const nn::Optimizer& optimizer) {
  const nn::Optimizer::Config k = optimizer.config();
  ordered_json c;
  c["name"] = keras_optimizer_name(k.kind);
  // A float32 written as the double it is, as Keras writes its learning_rate variable
  // (0.001f -> 0.0010000000474974513); a schedule as its envelope.
  c["learning_rate"] = k.schedule ? schedule_envelope(*k.schedule) : ordered_json(static_cast<double>(k.learning_rate));
  c["weight_decay"] = k.weight_decay != 0.0f ? ordered_json(shortest(k.weight_decay)) : ordered_json(nullptr);
  c["clipnorm"] = optional_number(k.clipnorm);
  c["global_clipnorm"] = optional_number(k.global_clipnorm);
  c["clipvalue"] = optional_number(k.clipvalue);
  auto optional_int = [](const std::optional<int>& value) { return value ? ordered_json(*value) : ordered_json(nullptr); };
  c["use_ema"] = k.use_ema;
  c["ema_momentum"] = shortest(k.ema_momentum);
  c["ema_overwrite_frequency"] = optional_int(k.ema_overwrite_frequency);
  c["loss_scale_factor"] = nullptr;
  c["gradient_accumulation_steps"] = optional_int(k.gradient_accumulation_steps);
  if (k.kind == "SGD") {
    c["momentum"] = static_cast<double>(k.momentum);
    c["nesterov"] = k.nesterov;
  } else if (k.kind == "RMSprop") {
    c["rho"] = static_cast<double>(k.rho);
    c["momentum"] = static_cast<double>(k.momentum);
    c["epsilon"] = static_cast<double>(k.epsilon);
    c["centered"] = k.centered;
  } else if (k.kind == "Adagrad") {
    c["initial_accumulator_value"] = static_cast<double>(k.initial_accumulator_value);
    c["epsilon"] = static_cast<double>(k.epsilon);
  } else {
    c["beta_1"] = static_cast<double>(k.beta_1);
    c["beta_2"] = static_cast<double>(k.beta_2);
    if (k.kind != "Lion") c["epsilon"] = static_cast<double>(k.epsilon);
    if (k.kind == "Adam" || k.kind == "AdamW") c["amsgrad"] = k.amsgrad;
  }
  return keras_envelope("keras.optimizers", k.kind, std::move(c));
}

std::shared_ptr<nn::Optimizer> decode_optimizer(const json& e, const std::string& file) {
  std::string where = file;
  where += ": optimizer";
  if (e.is_string()) {  // compile(optimizer="adam") in a hand-written config
    return optimizers::get(e.get<std::string>()).impl();
  }
  if (!e.is_object() || !e.contains("class_name") || !e["class_name"].is_string()) {
    throw ValueError(where + ": expected {\"class_name\": ..., \"config\": {...}}, found " + describe(e));
  }
  std::string kind = e["class_name"].get<std::string>();
  where += " (" + kind + ")";
  // tf.keras 2.11+ files may name the legacy optimizers "Custom>Adam" or "keras.optimizers.legacy.Adam".
  if (const auto gt = kind.rfind('>'); gt != std::string::npos) kind = kind.substr(gt + 1);
  if (const auto dot = kind.rfind('.'); dot != std::string::npos) kind = kind.substr(dot + 1);
  if (!known_kind(kind)) {
    throw ValueError(where + ": kerosene has SGD, Adam, AdamW, RMSprop, Nadam, Adamax, Adagrad and Lion");
  }
  static const json empty = json::object();
  ConfigFields f(e.contains("config") ? e["config"] : empty, where);
  nn::Optimizer::Config c;
  c.kind = kind;
  const json& lr = f.raw("learning_rate");
  if (lr.is_object()) {
    c.schedule = decode_schedule(lr, where);
    c.learning_rate = (*c.schedule)(0);
  } else if (f.has("learning_rate")) {
    c.learning_rate = static_cast<float>(f.number("learning_rate"));
  } else if (f.has("lr")) {
    c.learning_rate = static_cast<float>(f.number("lr"));  // Keras 2's old name
  } else {
    c.learning_rate = kind == "SGD" ? 0.01f : 0.001f;
  }
  c.weight_decay = static_cast<float>(f.number("weight_decay", kind == "AdamW" ? 0.004 : 0.0));
  auto optional = [&](const char* key) -> std::optional<float> {
    if (!f.has(key) || f.raw(key).is_null()) return std::nullopt;
    return static_cast<float>(f.number(key));
  };
  c.clipnorm = optional("clipnorm");
  c.global_clipnorm = optional("global_clipnorm");
  c.clipvalue = optional("clipvalue");
  auto optional_int = [&](const char* key) -> std::optional<int> {
    if (!f.has(key) || f.raw(key).is_null()) return std::nullopt;
    return static_cast<int>(f.integer(key));
  };
  c.use_ema = f.boolean("use_ema", false);
  c.ema_momentum = static_cast<float>(f.number("ema_momentum", 0.99));
  c.ema_overwrite_frequency = optional_int("ema_overwrite_frequency");
  c.gradient_accumulation_steps = optional_int("gradient_accumulation_steps");
  f.require_default("loss_scale_factor");
  f.require_default("decay", 0.0);
  f.ignore({"name", "is_legacy_optimizer", "jit_compile"});
  if (kind == "SGD") {
    c.momentum = static_cast<float>(f.number("momentum", 0.0));
    c.nesterov = f.boolean("nesterov", false);
  } else if (kind == "RMSprop") {
    c.rho = static_cast<float>(f.number("rho", 0.9));
    c.momentum = static_cast<float>(f.number("momentum", 0.0));
    c.epsilon = static_cast<float>(f.number("epsilon", 1e-7));
    c.centered = f.boolean("centered", false);
  } else if (kind == "Adagrad") {
    c.initial_accumulator_value = static_cast<float>(f.number("initial_accumulator_value", 0.1));
    c.epsilon = static_cast<float>(f.number("epsilon", 1e-7));
  } else {
    c.beta_1 = static_cast<float>(f.number("beta_1", 0.9));
    c.beta_2 = static_cast<float>(f.number("beta_2", kind == "Lion" ? 0.99 : 0.999));
    if (kind != "Lion") c.epsilon = static_cast<float>(f.number("epsilon", 1e-7));
    if (kind == "Adam" || kind == "AdamW") {
      c.amsgrad = f.boolean("amsgrad", false);
    } else {
      f.require_default("amsgrad", false);
    }
  }
  f.finish();
  try {
    return nn::make_optimizer(c);
  } catch (const ValueError& error) {
    throw ValueError(where + ": " + error.what());
  }
}

}  // namespace kerosene::saving
