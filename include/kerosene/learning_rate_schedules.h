// Learning-rate schedules (keras.optimizers.schedules): the learning rate as a function of the
// optimizer's step, evaluated at `optimizer.iterations` before each update, as Keras does.
//
//   auto lr = ks::optimizers::schedules::ExponentialDecay(0.1f, 1000, 0.96f);
//   model.compile(ks::optimizers::SGD({.learning_rate = lr}), "mse");
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace kerosene {

/// Keras' LearningRateSchedule. The built-in ones below are saved in the optimizer's config as
/// Keras 3 writes them ({"module": "keras.optimizers.schedules", "class_name": ..., ...}).
class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  /// The learning rate at `step` (0 for the first update), computed in float32 as Keras does.
  virtual float operator()(int64_t step) const = 0;
  /// Keras' class name ("ExponentialDecay", ...).
  virtual std::string class_name() const = 0;
};

/// An optimizer's learning rate: a number (settable later, e.g. by a callback) or a schedule.
class LearningRate {
 public:
  LearningRate(float value) : value_(value) {}
  LearningRate(double value) : value_(static_cast<float>(value)) {}
  LearningRate(std::shared_ptr<const LearningRateSchedule> schedule) : schedule_(std::move(schedule)) {}
  template <class Schedule>
    requires std::is_base_of_v<LearningRateSchedule, Schedule>
  LearningRate(const Schedule& schedule) : schedule_(std::make_shared<Schedule>(schedule)) {}

  bool is_schedule() const { return schedule_ != nullptr; }
  /// The number; for a schedule, its value at step 0.
  float initial_value() const { return schedule_ ? (*schedule_)(0) : value_; }
  const std::shared_ptr<const LearningRateSchedule>& schedule() const { return schedule_; }

 private:
  float value_ = 0.0f;
  std::shared_ptr<const LearningRateSchedule> schedule_;
};

namespace optimizers::schedules {

/// initial_learning_rate * decay_rate ^ (step / decay_steps), the exponent floored with
/// `staircase`. Throws ValueError unless decay_steps > 0.
struct ExponentialDecay final : LearningRateSchedule {
  ExponentialDecay(float initial_learning_rate, int64_t decay_steps, float decay_rate, bool staircase = false);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "ExponentialDecay"; }
  float initial_learning_rate;
  int64_t decay_steps;
  float decay_rate;
  bool staircase;
  std::string name = "ExponentialDecay";
};

/// values[0] while step <= boundaries[0], values[i] while boundaries[i-1] < step <= boundaries[i],
/// values.back() after. Throws ValueError unless values has one more entry than boundaries.
struct PiecewiseConstantDecay final : LearningRateSchedule {
  PiecewiseConstantDecay(std::vector<int64_t> boundaries, std::vector<float> values);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "PiecewiseConstantDecay"; }
  std::vector<int64_t> boundaries;
  std::vector<float> values;
  std::string name = "PiecewiseConstant";
};

/// Cosine decay from initial_learning_rate (or, after a linear warmup of warmup_steps, from
/// warmup_target) to alpha times it over decay_steps. Throws ValueError unless decay_steps > 0.
struct CosineDecay final : LearningRateSchedule {
  CosineDecay(float initial_learning_rate, int64_t decay_steps, float alpha = 0.0f,
              std::optional<float> warmup_target = std::nullopt, int64_t warmup_steps = 0);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "CosineDecay"; }
  float initial_learning_rate;
  int64_t decay_steps;
  float alpha;
  std::optional<float> warmup_target;
  int64_t warmup_steps;
  std::string name = "CosineDecay";
};

/// initial_learning_rate / (1 + decay_rate * step / decay_steps), the ratio floored with
/// `staircase`. Throws ValueError unless decay_steps > 0.
struct InverseTimeDecay final : LearningRateSchedule {
  InverseTimeDecay(float initial_learning_rate, int64_t decay_steps, float decay_rate, bool staircase = false);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "InverseTimeDecay"; }
  float initial_learning_rate;
  int64_t decay_steps;
  float decay_rate;
  bool staircase;
  std::string name = "InverseTimeDecay";
};

/// (initial - end) * (1 - step / decay_steps) ^ power + end, the step capped at decay_steps (or,
/// with `cycle`, decay_steps stretched to the next multiple above step). Throws ValueError unless
/// decay_steps > 0.
struct PolynomialDecay final : LearningRateSchedule {
  PolynomialDecay(float initial_learning_rate, int64_t decay_steps, float end_learning_rate = 1e-4f,
                  float power = 1.0f, bool cycle = false);
  float operator()(int64_t step) const override;
  std::string class_name() const override { return "PolynomialDecay"; }
  float initial_learning_rate;
  int64_t decay_steps;
  float end_learning_rate;
  float power;
  bool cycle;
  std::string name = "PolynomialDecay";
};

}  // namespace optimizers::schedules
}  // namespace kerosene
