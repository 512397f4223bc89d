// Optimizers with Keras' names, defaults and update rules.
#pragma once

#include <memory>
#include <optional>
#include <string>

namespace kerosene {

namespace nn {
class Optimizer;
}

/// A handle to an optimizer; copies share the optimizer's state.
class Optimizer {
 public:
  explicit Optimizer(std::shared_ptr<nn::Optimizer> impl) : impl_(std::move(impl)) {}
  /// By name with default settings: "sgd", "adam", "adamw", "rmsprop".
  Optimizer(const char* name);
  Optimizer(const std::string& name);
  std::string name() const;
  float learning_rate() const;
  void set_learning_rate(float learning_rate);
  const std::shared_ptr<nn::Optimizer>& impl() const { return impl_; }

 private:
  std::shared_ptr<nn::Optimizer> impl_;
};

namespace optimizers {

struct SGDOptions {
  float learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
};
Optimizer SGD(const SGDOptions& options = {});

struct AdamOptions {
  float learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
};
Optimizer Adam(const AdamOptions& options = {});

struct AdamWOptions {
  float learning_rate = 0.001f;
  float weight_decay = 0.004f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
};
Optimizer AdamW(const AdamWOptions& options = {});

struct RMSpropOptions {
  float learning_rate = 0.001f;
  float rho = 0.9f;
  float momentum = 0.0f;
  float epsilon = 1e-7f;
  bool centered = false;
};
Optimizer RMSprop(const RMSpropOptions& options = {});

/// By name ("sgd", "adam", "adamw", "rmsprop"), optionally with a learning rate.
/// Throws ValueError listing the known names.
Optimizer get(const std::string& name, std::optional<float> learning_rate = std::nullopt);

}  // namespace optimizers
}  // namespace kerosene
