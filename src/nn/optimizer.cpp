// The base optimizer: what Keras 3's BaseOptimizer does around every update rule (learning rate
// or schedule, gradient clipping, decoupled weight decay, gradient accumulation, the moving
// averages, the iteration count) and the slots.
#include "nn/optimizer.h"

#include <cmath>
#include <charconv>

#include "kerosene/error.h"
#include "ops/ops.h"

namespace kerosene::nn {
namespace {

// Python's repr of an option, for Keras' messages: None or the number.
std::string python_repr(const std::optional<float>& value) {
  if (!value) return "None";
  char text[32];
  std::string s(text, std::to_chars(text, text + sizeof text, *value).ptr);
  if (s.find_first_of(".en") == std::string::npos) s += ".0";  // 1 -> 1.0, as Python prints a float
  return s;
}

// The sum of the squares of g's elements, computed on g's device.
double squared_norm(const Tensor& g) {
  Tensor squares = Tensor::zeros(g.shape(), DType::float32, g.device());
  Tensor total = Tensor::zeros(Shape{1}, DType::float32, g.device());
  auto& backend = ops::backend_of("clip_gradients", g);
  backend.multiply(g, g, squares);
  backend.sum(squares, total);
  return static_cast<double>(total.to_vector<float>()[0]);
}

void scale_in_place(Tensor& g, float scale) {
  ops::backend_of("clip_gradients", g).axpby(scale, g, 0.0f, g, g);
}

}  // namespace

Optimizer::Optimizer(const Config& config) : config_(config) {
  if (config.loss_scale) {
    if (!(config.loss_scale->initial_scale > 0.0f) || !std::isfinite(config.loss_scale->initial_scale)) {
      throw ValueError("LossScaleOptimizer: initial_scale must be a positive finite number, got " +
                       python_repr(std::optional<float>(config.loss_scale->initial_scale)));
    }
    if (config.loss_scale->dynamic_growth_steps < 1) {
      throw ValueError("LossScaleOptimizer: dynamic_growth_steps must be at least 1, got " +
                       std::to_string(config.loss_scale->dynamic_growth_steps));
    }
    dynamic_scale_ = config.loss_scale->initial_scale;
  }
  learning_rate = config.learning_rate;
  schedule = config.schedule;
  const int clip_options = config.clipnorm.has_value() + config.clipvalue.has_value() + config.global_clipnorm.has_value();
  if (clip_options > 1) {
    throw ValueError("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: clipnorm=" +
                     python_repr(config.clipnorm) + ", clipvalue=" + python_repr(config.clipvalue) +
                     ", global_clipnorm=" + python_repr(config.global_clipnorm));
  }
  // Keras' checks, with its messages (a falsy 0 means off, as in Python).
  if (config.gradient_accumulation_steps && *config.gradient_accumulation_steps != 0 &&
      *config.gradient_accumulation_steps < 2) {
    throw ValueError("`gradient_accumulation_steps` must be an integer >= 2. Received: gradient_accumulation_steps=" +
                     std::to_string(*config.gradient_accumulation_steps));
  }
  if (config.use_ema) {
    if (!(config.ema_momentum >= 0.0f && config.ema_momentum <= 1.0f)) {
      throw ValueError("`ema_momentum` must be in the range [0, 1]. Received: ema_momentum=" +
                       python_repr(config.ema_momentum));
    }
    if (config.ema_overwrite_frequency && *config.ema_overwrite_frequency < 0) {
      throw ValueError("`ema_overwrite_frequency` must be an integer >= 1 or None. Received: ema_overwrite_frequency=" +
                       std::to_string(*config.ema_overwrite_frequency));
    }
  }
}

Optimizer::Config Optimizer::config() const {
  Config c = config_;
  c.learning_rate = learning_rate;
  c.schedule = schedule;
  return c;
}

std::shared_ptr<Optimizer> Optimizer::clone() const { return make_optimizer(config()); }

float Optimizer::current_learning_rate() const {
  // A replica follows its leader's number or schedule, at its own (equal) step count: the
  // leader's may already be one ahead on another thread.
  const Optimizer& source = leader_ ? *leader_ : *this;
  return source.schedule ? (*source.schedule)(steps_) : source.learning_rate;
}

std::vector<std::vector<int>> Optimizer::keras_slot_groups() const {
  std::vector<int> all;
  for (int k = 0; k < slots_per_variable(); ++k) all.push_back(k);
  if (all.empty()) return {};
  return {all};
}

std::vector<Tensor>& Optimizer::slots(const std::vector<Variable*>& variables) {
  if (built_for_ != variables.size()) {
    slots_.clear();
    for (Variable* v : variables) {
      for (int s = 0; s < slots_per_variable(); ++s) {
        slots_.push_back(Tensor::zeros(v->value.shape(), DType::float32, v->value.device()));
        if (slot_initial_value() != 0.0f) ops::backend_of("fill", slots_.back()).fill(slots_.back(), slot_initial_value());
      }
    }
    averages_.clear();
    accumulators_.clear();
    for (Variable* v : variables) {
      if (config_.use_ema) averages_.push_back(Tensor::zeros(v->value.shape(), DType::float32, v->value.device()));
      if (accumulation_steps()) accumulators_.push_back(Tensor::zeros(v->value.shape(), DType::float32, v->value.device()));
    }
    built_for_ = variables.size();
  }
  return slots_;
}

std::vector<Tensor*> Optimizer::base_state() {
  std::vector<Tensor*> out;
  for (Tensor& t : averages_) out.push_back(&t);
  for (Tensor& t : accumulators_) out.push_back(&t);
  return out;
}

void Optimizer::clip_gradients(const std::vector<Variable*>& variables) const {
  // Keras' _clip_gradients: a non-positive value means no clipping.
  if (config_.clipnorm && *config_.clipnorm > 0) {
    const float limit = *config_.clipnorm;
    for (Variable* v : variables) {
      const double norm = std::sqrt(squared_norm(v->grad));
      scale_in_place(v->grad, static_cast<float>(limit / std::max(norm, static_cast<double>(limit))));
    }
  } else if (config_.global_clipnorm && *config_.global_clipnorm > 0) {
    const float limit = *config_.global_clipnorm;
    double total = 0;
    for (Variable* v : variables) total += squared_norm(v->grad);
    const double norm = std::sqrt(total);
    // As Keras' clip_by_global_norm: a non-finite norm makes every gradient NaN.
    const double scale = std::isfinite(norm) ? limit * std::min(1.0 / norm, 1.0 / limit) : NAN;
    if (scale != 1.0) {
      for (Variable* v : variables) scale_in_place(v->grad, static_cast<float>(scale));
    }
  } else if (config_.clipvalue && *config_.clipvalue > 0) {
    for (Variable* v : variables) {
      Tensor bound = Tensor::zeros(v->grad.shape(), DType::float32, v->grad.device());
      auto& backend = ops::backend_of("clip_gradients", v->grad);
      backend.fill(bound, *config_.clipvalue);
      backend.minmax(/*maximum=*/false, v->grad, bound, v->grad);
      backend.fill(bound, -*config_.clipvalue);
      backend.minmax(/*maximum=*/true, v->grad, bound, v->grad);
    }
  }
}

void Optimizer::apply(const std::vector<Variable*>& variables) {
  if (config_.loss_scale) {
    // Every replica sees the same all-reduced gradients, so every replica decides alike.
    for (Variable* v : variables) {
      if (v->grad.defined() && !ops::backend_of("all_finite", v->grad).all_finite(v->grad)) {
        step_counter_ = 0;
        dynamic_scale_ *= 0.5f;
        return;
      }
    }
    const float unscale = 1.0f / dynamic_scale_;
    for (Variable* v : variables) {
      if (v->grad.defined()) ops::backend_of("unscale", v->grad).axpby(unscale, v->grad, 0.0f, v->grad, v->grad);
    }
  }
  apply_unscaled(variables);
  if (config_.loss_scale) {
    if (step_counter_ == config_.loss_scale->dynamic_growth_steps - 1) {
      step_counter_ = 0;
      dynamic_scale_ *= 2.0f;
    } else {
      ++step_counter_;
    }
  }
}

void Optimizer::apply_unscaled(const std::vector<Variable*>& variables) {
  const int per = slots_per_variable();
  slots(variables);
  const float lr = current_learning_rate();
  bool update_step = true;
  if (const int n = accumulation_steps()) {
    // Keras' _backend_apply_gradients: steps before the N-th only add into the accumulators;
    // the N-th updates with (gradient + accumulated) / N and empties them.
    update_step = (steps_ + 1) % n == 0;
    for (size_t i = 0; i < variables.size(); ++i) {
      Tensor& g = variables[i]->grad;
      Tensor& sum = accumulators_[i];
      auto& backend = ops::backend_of("gradient_accumulation", g);
      if (update_step) {
        backend.axpby(1.0f, g, 1.0f, sum, g);
        backend.axpby(1.0f / static_cast<float>(n), g, 0.0f, g, g);
        backend.fill(sum, 0.0f);
      } else {
        backend.axpby(1.0f, g, 1.0f, sum, sum);
      }
    }
  }
  if (update_step) {
    clip_gradients(variables);
    if (config_.weight_decay != 0.0f) {
      // Keras 3's decoupled decay, before the update: variable -= variable * weight_decay * lr.
      const float decay = config_.weight_decay * lr;
      for (Variable* v : variables) ops::backend_of("weight_decay", v->value).axpby(1.0f, v->value, -decay, v->value, v->value);
    }
    begin_step();
    for (size_t i = 0; i < variables.size(); ++i) update(*variables[i], per ? &slots_[i * per] : nullptr, lr);
  }
  if (config_.use_ema) update_averages(variables);
  ++steps_;
}

void Optimizer::update_averages(const std::vector<Variable*>& variables) {
  // average = m * average + (1 - m) * variable, with m = 0 at the first update (iterations() 0),
  // so the average starts at the variable.
  const float m = iterations() != 0 ? config_.ema_momentum : 0.0f;
  for (size_t i = 0; i < variables.size(); ++i) {
    ops::backend_of("ema", averages_[i]).axpby(m, averages_[i], 1.0f - m, variables[i]->value, averages_[i]);
  }
  const int every = config_.ema_overwrite_frequency.value_or(0);
  if (every > 0 && (iterations() + 1) % every == 0) finalize_variable_values(variables);
}

void Optimizer::finalize_variable_values(const std::vector<Variable*>& variables) {
  if (!config_.use_ema || averages_.size() != variables.size()) return;  // no step yet: nothing averaged
  for (size_t i = 0; i < variables.size(); ++i) {
    Tensor& v = variables[i]->value;
    ops::backend_of("ema", v).copy_on_device(v.raw_data(), averages_[i].raw_data(), v.nbytes());
  }
}

void Optimizer::copy_state_from(const Optimizer& other, const std::vector<Variable*>& variables) {
  if (other.name() != name()) {
    throw ValueError("copy_state_from: expected an optimizer of kind " + name() + ", found " + other.name());
  }
  steps_ = other.steps_;
  dynamic_scale_ = other.dynamic_scale_;
  step_counter_ = other.step_counter_;
  learning_rate = other.learning_rate;
  schedule = other.schedule;
  const std::vector<float*> theirs = const_cast<Optimizer&>(other).scalar_state();
  const std::vector<float*> mine = scalar_state();
  for (size_t k = 0; k < mine.size() && k < theirs.size(); ++k) *mine[k] = *theirs[k];
  slots_.clear();
  averages_.clear();
  accumulators_.clear();
  built_for_ = 0;  // no slots yet: the next apply creates them, as on `other`
  if (other.built_for_ == 0) return;
  if (other.built_for_ != variables.size()) {
    throw ValueError("copy_state_from: expected slots for " + std::to_string(variables.size()) + " variables, found " +
                     std::to_string(other.built_for_));
  }
  const size_t per = other.slots_.size() / other.built_for_;
  for (size_t k = 0; k < other.slots_.size(); ++k) {
    // A copy of its own (Tensor::to shares the storage when the device is the same).
    const std::vector<float> values = other.slots_[k].to_vector<float>();
    slots_.push_back(Tensor::from_vector(values, other.slots_[k].shape()).to(variables[k / per]->value.device()));
  }
  auto copy_each = [&](const std::vector<Tensor>& from, std::vector<Tensor>& to) {
    to.clear();
    for (size_t k = 0; k < from.size(); ++k) {
      to.push_back(Tensor::from_vector(from[k].to_vector<float>(), from[k].shape()).to(variables[k]->value.device()));
    }
  };
  copy_each(other.averages_, averages_);
  copy_each(other.accumulators_, accumulators_);
  built_for_ = other.built_for_;
}

}  // namespace kerosene::nn
