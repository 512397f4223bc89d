// The update rules (SGD, Adam/AdamW, RMSprop, Nadam, Adamax, Adagrad, Lion) with Keras' formulas
// (math/optimizers.h), and the public factories with Keras' defaults and checks.
#include "kerosene/optimizers.h"

#include <cmath>

#include "kerosene/error.h"
#include "nn/optimizer.h"
#include "ops/ops.h"

namespace kerosene {
namespace nn {
namespace {

// beta^t in float32, as Keras' ops.power(beta, local_step) on float32 tensors.
float power(float beta, int64_t t) { return static_cast<float>(std::pow(static_cast<double>(beta), static_cast<double>(t))); }

// An OptimizerStep of `rule` at `lr`; the caller sets the fields its rule reads (the rest stay 0).
backends::OptimizerStep rule_step(backends::OptimizerRule rule, float lr, const Optimizer::Config& c) {
  backends::OptimizerStep step{};
  step.rule = rule;
  step.learning_rate = lr;
  step.beta_1 = c.beta_1;
  step.beta_2 = c.beta_2;
  step.epsilon = c.epsilon;
  return step;
}

class SGD final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return config_.momentum != 0.0f ? 1 : 0; }
  void update(Variable& v, Tensor* slots, float lr) override {
    backends::SGDStep step{lr, config_.momentum, config_.nesterov};
    ops::backend_of("sgd_update", v.value).sgd_update(step, v.value, v.grad, slots);
  }
};

// Adam and AdamW (AdamW is Adam with a weight decay by default; the base applies it).
class Adam final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return config_.amsgrad ? 3 : 2; }
  // Keras interleaves momentum and velocity per variable, then lists every velocity_hat.
  std::vector<std::vector<int>> keras_slot_groups() const override {
    if (config_.amsgrad) return {{0, 1}, {2}};
    return {{0, 1}};
  }
  void update(Variable& v, Tensor* slots, float lr) override {
    const int64_t t = iterations() + 1;
    const float b1p = power(config_.beta_1, t), b2p = power(config_.beta_2, t);
    if (!config_.amsgrad) {
      backends::AdamStep step{lr, config_.beta_1, config_.beta_2, config_.epsilon, 0.0f, b1p, b2p};
      ops::backend_of("adam_update", v.value).adam_update(step, v.value, v.grad, slots[0], slots[1]);
      return;
    }
    backends::OptimizerStep step = rule_step(backends::OptimizerRule::adam_amsgrad, lr, config_);
    step.c0 = lr * std::sqrt(1.0f - b2p) / (1.0f - b1p);
    ops::backend_of("optimizer_update", v.value).optimizer_update(step, v.value, v.grad, slots);
  }
};

class RMSprop final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return 3; }
  // Keras stores every velocity, then every momentum (if momentum > 0), then every average
  // gradient (if centered).
  std::vector<std::vector<int>> keras_slot_groups() const override {
    std::vector<std::vector<int>> groups{{0}};
    if (config_.momentum != 0.0f) groups.push_back({1});
    if (config_.centered) groups.push_back({2});
    return groups;
  }
  void update(Variable& v, Tensor* slots, float lr) override {
    backends::RMSpropStep step{lr, config_.rho, config_.momentum, config_.epsilon, config_.centered};
    ops::backend_of("rmsprop_update", v.value)
        .rmsprop_update(step, v.value, v.grad, slots[0], config_.momentum != 0.0f ? &slots[1] : nullptr,
                        config_.centered ? &slots[2] : nullptr);
  }
};

class Nadam final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return 2; }
  std::vector<float*> scalar_state() override { return {&u_product_}; }

 protected:
  // Keras' momentum schedule: u_t = beta_1 (1 - 0.5 * 0.96^t), u_product the product of u_1..u_t.
  float u(int64_t t) const { return config_.beta_1 * (1.0f - 0.5f * power(0.96f, t)); }
  void begin_step() override { u_product_ = u_product_ * config_.beta_1 * (1.0f - 0.5f * power(0.96f, iterations() + 1)); }
  void update(Variable& v, Tensor* slots, float lr) override {
    const int64_t t = iterations() + 1;
    const float u_t = u(t), u_next = u(t + 1);
    const float product_next = u_product_ * u_next;
    backends::OptimizerStep step = rule_step(backends::OptimizerRule::nadam, lr, config_);
    step.c0 = u_next;
    step.c1 = 1.0f - product_next;
    step.c2 = 1.0f - u_t;
    step.c3 = 1.0f - u_product_;
    step.c4 = 1.0f - power(config_.beta_2, t);
    ops::backend_of("optimizer_update", v.value).optimizer_update(step, v.value, v.grad, slots);
  }

 private:
  float u_product_ = 1.0f;  // Keras' _u_product variable, saved after the slots
};

class Adamax final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return 2; }
  void update(Variable& v, Tensor* slots, float lr) override {
    backends::OptimizerStep step = rule_step(backends::OptimizerRule::adamax, lr, config_);
    step.c0 = 1.0f - power(config_.beta_1, iterations() + 1);
    ops::backend_of("optimizer_update", v.value).optimizer_update(step, v.value, v.grad, slots);
  }
};

class Adagrad final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return 1; }

 protected:
  float slot_initial_value() const override { return config_.initial_accumulator_value; }
  void update(Variable& v, Tensor* slots, float lr) override {
    const backends::OptimizerStep step = rule_step(backends::OptimizerRule::adagrad, lr, config_);
    ops::backend_of("optimizer_update", v.value).optimizer_update(step, v.value, v.grad, slots);
  }
};

class Lion final : public Optimizer {
 public:
  using Optimizer::Optimizer;
  int slots_per_variable() const override { return 1; }
  void update(Variable& v, Tensor* slots, float lr) override {
    const backends::OptimizerStep step = rule_step(backends::OptimizerRule::lion, lr, config_);
    ops::backend_of("optimizer_update", v.value).optimizer_update(step, v.value, v.grad, slots);
  }
};

void check_learning_rate(float lr) {
  if (!(lr > 0.0f) || !std::isfinite(lr)) {
    throw ValueError("learning_rate must be a positive number, got " + std::to_string(lr));
  }
}

// The options every optimizer shares (each options struct has Keras' base arguments), into a
// Config of `kind`.
template <class Options>
Optimizer::Config base_config(const char* kind, const Options& o) {
  Optimizer::Config c;
  c.kind = kind;
  c.schedule = o.learning_rate.schedule();
  c.learning_rate = o.learning_rate.initial_value();
  c.weight_decay = std::optional<float>(o.weight_decay).value_or(0.0f);
  c.clipnorm = o.clipnorm;
  c.clipvalue = o.clipvalue;
  c.global_clipnorm = o.global_clipnorm;
  c.use_ema = o.use_ema;
  c.ema_momentum = o.ema_momentum;
  c.ema_overwrite_frequency = o.ema_overwrite_frequency;
  c.gradient_accumulation_steps = o.gradient_accumulation_steps;
  return c;
}

}  // namespace

std::shared_ptr<Optimizer> make_optimizer(const Optimizer::Config& c) {
  if (!c.schedule) check_learning_rate(c.learning_rate);
  if (c.kind == "SGD") {
    if (c.momentum < 0.0f || c.momentum > 1.0f) {
      throw ValueError("SGD: momentum must be in [0, 1], got " + std::to_string(c.momentum));
    }
    return std::make_shared<SGD>(c);
  }
  if (c.kind == "Adam" || c.kind == "AdamW") return std::make_shared<Adam>(c);
  if (c.kind == "RMSprop") return std::make_shared<RMSprop>(c);
  if (c.kind == "Nadam") return std::make_shared<Nadam>(c);
  if (c.kind == "Adamax") return std::make_shared<Adamax>(c);
  if (c.kind == "Adagrad") return std::make_shared<Adagrad>(c);
  if (c.kind == "Lion") {
    if (c.beta_1 <= 0.0f || c.beta_1 > 1.0f) {
      throw ValueError("Lion: Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer degenerates to "
                       "SignSGD. Received: beta_1=" + std::to_string(c.beta_1) + ".");
    }
    return std::make_shared<Lion>(c);
  }
  throw ValueError("unknown optimizer \"" + c.kind +
                   "\"; expected SGD, Adam, AdamW, RMSprop, Nadam, Adamax, Adagrad or Lion");
}

}  // namespace nn

Optimizer::Optimizer(const char* name) : Optimizer(optimizers::get(name)) {}
Optimizer::Optimizer(const std::string& name) : Optimizer(optimizers::get(name)) {}
std::string Optimizer::name() const { return impl_->name(); }
float Optimizer::learning_rate() const { return impl_->current_learning_rate(); }
int64_t Optimizer::iterations() const { return impl_->iterations(); }
float Optimizer::loss_scale() const { return impl_->loss_scale(); }
void Optimizer::set_learning_rate(float lr) {
  if (impl_->schedule) {
    // Keras raises TypeError here.
    throw RuntimeError(
        "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` constructor argument, "
        "hence its learning rate is not settable. If you need the learning rate to be settable, you should "
        "instantiate the optimizer with a float `learning_rate` argument.");
  }
  nn::check_learning_rate(lr);
  impl_->learning_rate = lr;
}

namespace optimizers {

Optimizer LossScaleOptimizer(const Optimizer& inner, const LossScaleOptimizerOptions& options) {
  nn::Optimizer::Config c = inner.impl()->config();
  if (c.loss_scale) throw ValueError("LossScaleOptimizer: the inner optimizer already scales its loss");
  c.loss_scale = nn::Optimizer::Config::LossScale{options.initial_scale, options.dynamic_growth_steps};
  return Optimizer(nn::make_optimizer(c));
}

Optimizer SGD(const SGDOptions& o) {
  auto c = nn::base_config("SGD", o);
  c.momentum = o.momentum;
  c.nesterov = o.nesterov;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer Adam(const AdamOptions& o) {
  auto c = nn::base_config("Adam", o);
  c.beta_1 = o.beta_1;
  c.beta_2 = o.beta_2;
  c.epsilon = o.epsilon;
  c.amsgrad = o.amsgrad;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer AdamW(const AdamWOptions& o) {
  auto c = nn::base_config("AdamW", o);
  c.beta_1 = o.beta_1;
  c.beta_2 = o.beta_2;
  c.epsilon = o.epsilon;
  c.amsgrad = o.amsgrad;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer RMSprop(const RMSpropOptions& o) {
  auto c = nn::base_config("RMSprop", o);
  c.rho = o.rho;
  c.momentum = o.momentum;
  c.epsilon = o.epsilon;
  c.centered = o.centered;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer Nadam(const NadamOptions& o) {
  auto c = nn::base_config("Nadam", o);
  c.beta_1 = o.beta_1;
  c.beta_2 = o.beta_2;
  c.epsilon = o.epsilon;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer Adamax(const AdamaxOptions& o) {
  auto c = nn::base_config("Adamax", o);
  c.beta_1 = o.beta_1;
  c.beta_2 = o.beta_2;
  c.epsilon = o.epsilon;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer Adagrad(const AdagradOptions& o) {
  auto c = nn::base_config("Adagrad", o);
  c.initial_accumulator_value = o.initial_accumulator_value;
  c.epsilon = o.epsilon;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer Lion(const LionOptions& o) {
  auto c = nn::base_config("Lion", o);
  c.beta_1 = o.beta_1;
  c.beta_2 = o.beta_2;
  return Optimizer(nn::make_optimizer(c));
}

Optimizer get(const std::string& name, std::optional<float> lr) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "sgd") return SGD({.learning_rate = lr.value_or(0.01f)});
  if (n == "adam") return Adam({.learning_rate = lr.value_or(0.001f)});
  if (n == "adamw") return AdamW({.learning_rate = lr.value_or(0.001f)});
  if (n == "rmsprop") return RMSprop({.learning_rate = lr.value_or(0.001f)});
  if (n == "nadam") return Nadam({.learning_rate = lr.value_or(0.001f)});
  if (n == "adamax") return Adamax({.learning_rate = lr.value_or(0.001f)});
  if (n == "adagrad") return Adagrad({.learning_rate = lr.value_or(0.001f)});
  if (n == "lion") return Lion({.learning_rate = lr.value_or(0.001f)});
  throw ValueError("unknown optimizer \"" + name +
                   "\"; expected sgd, adam, adamw, rmsprop, nadam, adamax, adagrad or lion");
}

}  // namespace optimizers
}  // namespace kerosene
