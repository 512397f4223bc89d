// Optimizers with Keras' names, defaults and update rules.
//
// Every optimizer also takes Keras 3's base options: weight_decay (decoupled: before the update,
// variable -= variable * weight_decay * learning_rate), and one of clipnorm (each gradient's
// norm), clipvalue (each element) or global_clipnorm (the norm of all gradients together).
// learning_rate is a number or a schedule (kerosene/learning_rate_schedules.h).
//
// And Keras 3's gradient_accumulation_steps N (None, or >= 2): each step adds its gradient to an
// accumulator and only every N-th step updates the variables, with the mean of the N gradients
// (iterations() then counts updates; a schedule sees every step). use_ema keeps a moving
// average of every variable after each step (average = ema_momentum * average + (1 -
// ema_momentum) * variable, the first one the variable itself); fit ends by setting the variables
// to their averages, and ema_overwrite_frequency K does so after every K-th update too.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "kerosene/learning_rate_schedules.h"

namespace kerosene {

namespace nn {
class Optimizer;
}

/// A handle to an optimizer; copies share the optimizer's state.
class Optimizer {
 public:
  explicit Optimizer(std::shared_ptr<nn::Optimizer> impl) : impl_(std::move(impl)) {}
  /// By name with default settings: "sgd", "adam", "adamw", "rmsprop", "nadam", "adamax",
  /// "adagrad", "lion".
  Optimizer(const char* name);
  Optimizer(const std::string& name);
  std::string name() const;
  /// Keras' optimizer.learning_rate: the number, or the schedule's value at iterations().
  float learning_rate() const;
  /// Keras' `optimizer.learning_rate = value`. Throws ValueError for a value that is not
  /// positive, and RuntimeError (Keras' TypeError message) when the optimizer was created with a schedule.
  void set_learning_rate(float learning_rate);
  /// Updates applied so far (Keras' optimizer.iterations; with gradient accumulation, the steps
  /// divided by gradient_accumulation_steps).
  int64_t iterations() const;
  /// LossScaleOptimizer's dynamic_scale: what the loss is multiplied by now; 1 without loss scaling.
  float loss_scale() const;
  const std::shared_ptr<nn::Optimizer>& impl() const { return impl_; }

 private:
  std::shared_ptr<nn::Optimizer> impl_;
};

namespace optimizers {

// The options every Keras 3 optimizer takes (None = std::nullopt). At most one of clipnorm,
// clipvalue and global_clipnorm may be set; the factories throw ValueError otherwise, and for
// gradient_accumulation_steps < 2, ema_momentum outside [0, 1] (with use_ema) or a negative
// ema_overwrite_frequency, with Keras' messages.

struct SGDOptions {
  LearningRate learning_rate = 0.01f;
  float momentum = 0.0f;
  bool nesterov = false;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer SGD(const SGDOptions& options = {});

struct AdamOptions {
  LearningRate learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  /// AMSGrad: divides by the running maximum of the second moment (one more slot).
  bool amsgrad = false;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer Adam(const AdamOptions& options = {});

struct AdamWOptions {
  LearningRate learning_rate = 0.001f;
  float weight_decay = 0.004f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  bool amsgrad = false;
  std::optional<float> clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer AdamW(const AdamWOptions& options = {});

struct RMSpropOptions {
  LearningRate learning_rate = 0.001f;
  float rho = 0.9f;
  float momentum = 0.0f;
  float epsilon = 1e-7f;
  bool centered = false;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer RMSprop(const RMSpropOptions& options = {});

/// Adam with Nesterov momentum (Keras' Nadam, with its 0.96 momentum schedule).
struct NadamOptions {
  LearningRate learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer Nadam(const NadamOptions& options = {});

/// Adam with the infinity norm in place of the second moment.
struct AdamaxOptions {
  LearningRate learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.999f;
  float epsilon = 1e-7f;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer Adamax(const AdamaxOptions& options = {});

/// Per-element learning rates from the sum of squared gradients, which starts at
/// initial_accumulator_value.
struct AdagradOptions {
  LearningRate learning_rate = 0.001f;
  float initial_accumulator_value = 0.1f;
  float epsilon = 1e-7f;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer Adagrad(const AdagradOptions& options = {});

/// Sign of an interpolated momentum. Throws ValueError unless 0 < beta_1 <= 1.
struct LionOptions {
  LearningRate learning_rate = 0.001f;
  float beta_1 = 0.9f;
  float beta_2 = 0.99f;
  std::optional<float> weight_decay{}, clipnorm{}, clipvalue{}, global_clipnorm{};
  bool use_ema = false;
  float ema_momentum = 0.99f;
  std::optional<int> ema_overwrite_frequency{}, gradient_accumulation_steps{};
};
Optimizer Lion(const LionOptions& options = {});

struct LossScaleOptimizerOptions {
  float initial_scale = 32768.0f;  ///< 2**15
  int64_t dynamic_growth_steps = 2000;
};
/// keras.optimizers.LossScaleOptimizer (Keras 3, dynamic): fit multiplies the loss by the
/// scale; a step whose gradients hold an inf or NaN is skipped (no update, iterations unchanged)
/// and halves the scale; otherwise the gradients are divided by the scale and `inner` updates
/// the variables, and after dynamic_growth_steps such steps in a row the scale doubles. Works
/// with any dtype policy (it matters for float16). The result is a new optimizer with `inner`'s
/// settings and fresh state; name() stays the inner optimizer's, and a saved model keeps the
/// inner optimizer alone (the scale is not saved). Throws ValueError for an initial_scale that
/// is not positive, dynamic_growth_steps below 1, or an `inner` that already scales its loss.
Optimizer LossScaleOptimizer(const Optimizer& inner, const LossScaleOptimizerOptions& options = {});

/// By name ("sgd", "adam", "adamw", "rmsprop", "nadam", "adamax", "adagrad", "lion"), optionally
/// with a learning rate. Throws ValueError listing the known names.
Optimizer get(const std::string& name, std::optional<float> learning_rate = std::nullopt);

}  // namespace optimizers
}  // namespace kerosene
