// nn::Optimizer: the implementation behind kerosene::Optimizer. Slots (momenta) are created on
// the first step, next to each variable, on its device. The base class does what Keras 3's base
// optimizer does around every update rule: the learning rate (number or schedule), gradient
// clipping, decoupled weight decay, gradient accumulation and the moving average (EMA) of the
// variables.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kerosene/learning_rate_schedules.h"
#include "nn/layer.h"

namespace kerosene::nn {

class Optimizer {
 public:
  /// Every hyperparameter of the optimizers kerosene has (Keras' names); `kind` (Keras' class
  /// name) says which apply: "SGD" (momentum, nesterov), "Adam"/"AdamW" (beta_1, beta_2, epsilon,
  /// amsgrad), "RMSprop" (rho, momentum, epsilon, centered), "Nadam"/"Adamax" (beta_1, beta_2,
  /// epsilon), "Adagrad" (initial_accumulator_value, epsilon), "Lion" (beta_1, beta_2).
  /// weight_decay 0 is Keras' None.
  struct Config {
    std::string kind;
    float learning_rate = 0.001f;
    std::shared_ptr<const LearningRateSchedule> schedule;  ///< when set, replaces learning_rate
    float momentum = 0.0f;
    bool nesterov = false;
    float beta_1 = 0.9f, beta_2 = 0.999f, epsilon = 1e-7f, weight_decay = 0.0f;
    float rho = 0.9f;
    bool centered = false;
    bool amsgrad = false;
    float initial_accumulator_value = 0.1f;
    std::optional<float> clipnorm, clipvalue, global_clipnorm;
    /// Keras' use_ema, ema_momentum, ema_overwrite_frequency (None = nullopt; 0 = off, as
    /// Python's falsy 0) and gradient_accumulation_steps (None = nullopt; 0 = off).
    bool use_ema = false;
    float ema_momentum = 0.99f;
    std::optional<int> ema_overwrite_frequency, gradient_accumulation_steps;
    /// Keras' LossScaleOptimizer around this one: dynamic loss scaling (see apply).
    struct LossScale {
      float initial_scale = 32768.0f;  ///< 2**15, Keras' default
      int64_t dynamic_growth_steps = 2000;
    };
    std::optional<LossScale> loss_scale;
  };
  /// Throws ValueError, with Keras' message, when more than one clipping option is set, or an
  /// EMA or accumulation option is out of range.
  explicit Optimizer(const Config& config);
  virtual ~Optimizer() = default;
  /// The configuration, with the learning rate as it is now.
  Config config() const;
  std::string name() const { return config_.kind; }
  /// The same configuration with fresh state (no slots, no iterations): a replica's optimizer.
  std::shared_ptr<Optimizer> clone() const;
  /// One step, as Keras 3's apply: with gradient_accumulation_steps N, the gradient is added to
  /// its accumulator and only every N-th step updates the variables, with the mean of the N
  /// gradients; an update is clipping, weight decay, then the update rule. Then the moving
  /// averages (use_ema), and the step count + 1. The gradients are changed in place.
  /// With loss scaling (Keras 3's LossScaleOptimizer, stateful path) first: a step whose
  /// gradients are not all finite is skipped and halves the scale; otherwise the gradients are
  /// divided by the scale before the step, and after dynamic_growth_steps such steps in a row
  /// the scale doubles.
  void apply(const std::vector<Variable*>& variables);
  /// What the loss (its gradient) is multiplied by this step: the dynamic scale, 1 without
  /// loss scaling.
  float loss_scale() const { return config_.loss_scale ? dynamic_scale_ : 1.0f; }
  /// Steps with finite gradients since the scale last changed (Keras' step_counter).
  int64_t loss_scale_step_counter() const { return step_counter_; }
  /// Keras' optimizer.iterations: updates applied (steps / N with gradient accumulation).
  int64_t iterations() const { return accumulation_steps() ? steps_ / accumulation_steps() : steps_; }
  /// Keras' _iterations: every apply counts; what a saved file's "iteration" variable holds.
  int64_t steps() const { return steps_; }
  void set_steps(int64_t steps) { steps_ = steps; }
  /// Keras' finalize_variable_values, at the end of fit: with use_ema, the variables take their
  /// moving averages.
  void finalize_variable_values(const std::vector<Variable*>& variables);
  /// The learning rate this step uses: the schedule at steps() (Keras evaluates it at
  /// _iterations), else `learning_rate` (the followed optimizer's, see follow_learning_rate_of).
  float current_learning_rate() const;
  /// Reads the learning rate from `primary` at every step: a mirrored replica's optimizer
  /// follows replica 0's, so a callback's change reaches every replica.
  void follow_learning_rate_of(std::shared_ptr<const Optimizer> primary) { leader_ = std::move(primary); }
  /// Makes this optimizer's state (iterations, learning rate, slots) a copy of `other`'s, the
  /// slots placed on the devices of `variables` (this one's): a mirrored replica's optimizer
  /// made equal to replica 0's after BackupAndRestore restored it. `other` must be of the same kind.
  void copy_state_from(const Optimizer& other, const std::vector<Variable*>& variables);
  /// The number Keras keeps in its learning_rate variable (unused while `schedule` is set).
  float learning_rate = 0.001f;
  std::shared_ptr<const LearningRateSchedule> schedule;

  /// Number of slot tensors per variable (SGD: momentum; Adam: m, v[, v_hat]; RMSprop: velocity,
  /// momentum, average gradient; ...).
  virtual int slots_per_variable() const = 0;
  /// Slot k of every variable, grouped as Keras lists its optimizer variables: each group's slots
  /// interleaved per variable (Adam: {{m, v}, {v_hat}}), groups one after another. Slots not in
  /// any group are unused (RMSprop without momentum) and not saved.
  virtual std::vector<std::vector<int>> keras_slot_groups() const;
  /// Scalar state Keras keeps as optimizer variables after the slots (Nadam's u_product).
  virtual std::vector<float*> scalar_state() { return {}; }
  /// Keras' optimizer variables before the update rule's slots, once a step has run: the moving
  /// averages (use_ema), then the gradient accumulators, one per variable each.
  std::vector<Tensor*> base_state();
  /// Whether a step has run (slots exist): what a saved file's optimizer state holds.
  bool has_state() const { return built_for_ != 0; }
  /// The slots, per variable in order ([v0's slots..., v1's slots...]), created for `variables`
  /// (as zeros, or Adagrad's initial accumulator value) when they do not exist yet: where a saved
  /// state is read into.
  std::vector<Tensor>& slots(const std::vector<Variable*>& variables);

 protected:
  virtual float slot_initial_value() const { return 0.0f; }
  /// Runs once per step before the per-variable updates (Nadam's momentum-schedule product).
  virtual void begin_step() {}
  /// The update rule for one variable at `lr`; iterations() is still the count before this step.
  virtual void update(Variable& v, Tensor* slots, float lr) = 0;
  Config config_;
  float dynamic_scale_ = 1.0f;
  int64_t step_counter_ = 0;

 private:
  int accumulation_steps() const { return config_.gradient_accumulation_steps.value_or(0); }
  void clip_gradients(const std::vector<Variable*>& variables) const;
  /// Keras' _update_model_variables_moving_average, then the overwrite every
  /// ema_overwrite_frequency updates.
  void update_averages(const std::vector<Variable*>& variables);
  int64_t steps_ = 0;
  void apply_unscaled(const std::vector<Variable*>& variables);
  std::vector<Tensor> slots_;
  std::vector<Tensor> averages_, accumulators_;  // per variable, when use_ema / accumulating
  size_t built_for_ = 0;
  std::shared_ptr<const Optimizer> leader_;
};

/// An optimizer from its config. Throws ValueError for an unknown kind or a bad value.
std::shared_ptr<Optimizer> make_optimizer(const Optimizer::Config& config);

}  // namespace kerosene::nn
