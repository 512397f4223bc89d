// SGD, Adam, AdamW and RMSprop with Keras' update rules (math/optimizers.h).
#include "kerosene/optimizers.h"

#include <cmath>

#include "kerosene/error.h"
#include "nn/optimizer.h"
#include "ops/ops.h"

namespace kerosene {
namespace nn {

std::vector<Tensor>& Optimizer::slots(const std::vector<Variable*>& variables) {
  if (built_for_ != variables.size()) {
    slots_.clear();
    for (Variable* v : variables) {
      for (int s = 0; s < slots_per_variable(); ++s) {
        slots_.push_back(Tensor::zeros(v->value.shape(), DType::float32, v->value.device()));
      }
    }
    built_for_ = variables.size();
  }
  return slots_;
}

void Optimizer::apply(const std::vector<Variable*>& variables) {
  const int per = slots_per_variable();
  slots(variables);
  ++iterations_;
  for (size_t i = 0; i < variables.size(); ++i) update(*variables[i], per ? &slots_[i * per] : nullptr);
}

namespace {

class SGD final : public Optimizer {
 public:
  explicit SGD(const optimizers::SGDOptions& o) : o_(o) { learning_rate = o.learning_rate; }
  std::string name() const override { return "SGD"; }
  Config config() const override {
    return {.kind = "SGD", .learning_rate = learning_rate, .momentum = o_.momentum, .nesterov = o_.nesterov};
  }
  std::shared_ptr<Optimizer> clone() const override {
    auto copy = std::make_shared<SGD>(o_);
    copy->learning_rate = learning_rate;
    return copy;
  }
  int slots_per_variable() const override { return o_.momentum != 0.0f ? 1 : 0; }
  void update(Variable& v, Tensor* slots) override {
    backends::SGDStep step{learning_rate, o_.momentum, o_.nesterov};
    ops::backend_of("sgd_update", v.value).sgd_update(step, v.value, v.grad, slots);
  }

 private:
  optimizers::SGDOptions o_;
};

class Adam final : public Optimizer {
 public:
  Adam(const optimizers::AdamOptions& o, float weight_decay, std::string name)
      : o_(o), weight_decay_(weight_decay), name_(std::move(name)) {
    learning_rate = o.learning_rate;
  }
  std::string name() const override { return name_; }
  Config config() const override {
    return {.kind = name_, .learning_rate = learning_rate, .beta_1 = o_.beta_1, .beta_2 = o_.beta_2,
            .epsilon = o_.epsilon, .weight_decay = weight_decay_};
  }
  std::shared_ptr<Optimizer> clone() const override {
    auto copy = std::make_shared<Adam>(o_, weight_decay_, name_);
    copy->learning_rate = learning_rate;
    return copy;
  }
  int slots_per_variable() const override { return 2; }
  void update(Variable& v, Tensor* slots) override {
    const double t = static_cast<double>(iterations_);
    backends::AdamStep step{learning_rate, o_.beta_1, o_.beta_2, o_.epsilon, weight_decay_,
                            static_cast<float>(std::pow(static_cast<double>(o_.beta_1), t)),
                            static_cast<float>(std::pow(static_cast<double>(o_.beta_2), t))};
    ops::backend_of("adam_update", v.value).adam_update(step, v.value, v.grad, slots[0], slots[1]);
  }

 private:
  optimizers::AdamOptions o_;
  float weight_decay_;
  std::string name_;
};

class RMSprop final : public Optimizer {
 public:
  explicit RMSprop(const optimizers::RMSpropOptions& o) : o_(o) { learning_rate = o.learning_rate; }
  std::string name() const override { return "RMSprop"; }
  Config config() const override {
    return {.kind = "RMSprop", .learning_rate = learning_rate, .momentum = o_.momentum, .epsilon = o_.epsilon,
            .rho = o_.rho, .centered = o_.centered};
  }
  std::shared_ptr<Optimizer> clone() const override {
    auto copy = std::make_shared<RMSprop>(o_);
    copy->learning_rate = learning_rate;
    return copy;
  }
  int slots_per_variable() const override { return 3; }
  void update(Variable& v, Tensor* slots) override {
    backends::RMSpropStep step{learning_rate, o_.rho, o_.momentum, o_.epsilon, o_.centered};
    ops::backend_of("rmsprop_update", v.value).rmsprop_update(step, v.value, v.grad, slots[0], o_.momentum != 0.0f ? &slots[1] : nullptr,
                                            o_.centered ? &slots[2] : nullptr);
  }

 private:
  optimizers::RMSpropOptions o_;
};

void check_learning_rate(float lr) {
  if (!(lr > 0.0f) || !std::isfinite(lr)) {
    throw ValueError("learning_rate must be a positive number, got " + std::to_string(lr));
  }
}

}  // namespace
}  // namespace nn

Optimizer::Optimizer(const char* name) : Optimizer(optimizers::get(name)) {}
Optimizer::Optimizer(const std::string& name) : Optimizer(optimizers::get(name)) {}
std::string Optimizer::name() const { return impl_->name(); }
float Optimizer::learning_rate() const { return impl_->learning_rate; }
void Optimizer::set_learning_rate(float lr) {
  nn::check_learning_rate(lr);
  impl_->learning_rate = lr;
}

namespace optimizers {

Optimizer SGD(const SGDOptions& o) {
  nn::check_learning_rate(o.learning_rate);
  if (o.momentum < 0.0f || o.momentum > 1.0f) throw ValueError("SGD: momentum must be in [0, 1], got " + std::to_string(o.momentum));
  return Optimizer(std::make_shared<nn::SGD>(o));
}

Optimizer Adam(const AdamOptions& o) {
  nn::check_learning_rate(o.learning_rate);
  return Optimizer(std::make_shared<nn::Adam>(o, 0.0f, "Adam"));
}

Optimizer AdamW(const AdamWOptions& o) {
  nn::check_learning_rate(o.learning_rate);
  AdamOptions a{o.learning_rate, o.beta_1, o.beta_2, o.epsilon};
  return Optimizer(std::make_shared<nn::Adam>(a, o.weight_decay, "AdamW"));
}

Optimizer RMSprop(const RMSpropOptions& o) {
  nn::check_learning_rate(o.learning_rate);
  return Optimizer(std::make_shared<nn::RMSprop>(o));
}

Optimizer get(const std::string& name, std::optional<float> lr) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "sgd") return SGD({.learning_rate = lr.value_or(0.01f)});
  if (n == "adam") return Adam({.learning_rate = lr.value_or(0.001f)});
  if (n == "adamw") return AdamW({.learning_rate = lr.value_or(0.001f)});
  if (n == "rmsprop") return RMSprop({.learning_rate = lr.value_or(0.001f)});
  throw ValueError("unknown optimizer \"" + name + "\"; expected sgd, adam, adamw or rmsprop");
}

}  // namespace optimizers
namespace nn {

std::shared_ptr<Optimizer> make_optimizer(const Optimizer::Config& c) {
  if (c.kind == "SGD") {
    return optimizers::SGD({.learning_rate = c.learning_rate, .momentum = c.momentum, .nesterov = c.nesterov}).impl();
  }
  if (c.kind == "Adam") {
    // Keras' Adam takes weight_decay too, applied as AdamW does.
    auto adam = optimizers::Adam({.learning_rate = c.learning_rate, .beta_1 = c.beta_1, .beta_2 = c.beta_2, .epsilon = c.epsilon});
    if (c.weight_decay == 0.0f) return adam.impl();
    optimizers::AdamOptions o{c.learning_rate, c.beta_1, c.beta_2, c.epsilon};
    return std::make_shared<Adam>(o, c.weight_decay, "Adam");
  }
  if (c.kind == "AdamW") {
    return optimizers::AdamW({.learning_rate = c.learning_rate, .weight_decay = c.weight_decay, .beta_1 = c.beta_1,
                              .beta_2 = c.beta_2, .epsilon = c.epsilon})
        .impl();
  }
  if (c.kind == "RMSprop") {
    return optimizers::RMSprop(
               {.learning_rate = c.learning_rate, .rho = c.rho, .momentum = c.momentum, .epsilon = c.epsilon, .centered = c.centered})
        .impl();
  }
  throw ValueError("unknown optimizer \"" + c.kind + "\"; expected SGD, Adam, AdamW or RMSprop");
}

}  // namespace nn
}  // namespace kerosene
