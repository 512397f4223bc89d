// The built-in learning-rate schedules, in float32 with the operations in Keras' order, so the
// values agree with Keras' to the last bit or two.
#include "kerosene/learning_rate_schedules.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kerosene/error.h"

namespace kerosene::optimizers::schedules {
namespace {

void check_decay_steps(const char* schedule, int64_t decay_steps) {
  if (decay_steps <= 0) {
    throw ValueError(std::string(schedule) + ": Argument `decay_steps` must be > 0. Received: decay_steps=" +
                     std::to_string(decay_steps));
  }
}

}  // namespace

ExponentialDecay::ExponentialDecay(float initial, int64_t steps, float rate, bool stair)
    : initial_learning_rate(initial), decay_steps(steps), decay_rate(rate), staircase(stair) {
  check_decay_steps("ExponentialDecay", decay_steps);
}

float ExponentialDecay::operator()(int64_t step) const {
  float p = static_cast<float>(step) / static_cast<float>(decay_steps);
  if (staircase) p = std::floor(p);
  return initial_learning_rate * std::pow(decay_rate, p);
}

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<int64_t> b, std::vector<float> v)
    : boundaries(std::move(b)), values(std::move(v)) {
  if (boundaries.size() + 1 != values.size()) {
    throw ValueError("PiecewiseConstantDecay: The length of boundaries should be 1 less than the length of values. "
                     "Received: " + std::to_string(boundaries.size()) + " boundaries and " +
                     std::to_string(values.size()) + " values");
  }
}

float PiecewiseConstantDecay::operator()(int64_t step) const {
  for (size_t i = 0; i < boundaries.size(); ++i) {
    if (step <= boundaries[i]) return values[i];
  }
  return values.back();
}

CosineDecay::CosineDecay(float initial, int64_t steps, float a, std::optional<float> target, int64_t warmup)
    : initial_learning_rate(initial), decay_steps(steps), alpha(a), warmup_target(target), warmup_steps(warmup) {
  check_decay_steps("CosineDecay", decay_steps);
}

float CosineDecay::operator()(int64_t step) const {
  const float steps = static_cast<float>(decay_steps);
  auto decay = [&](float s, float from) {
    const float completed = s / steps;
    const float cosine = 0.5f * (1.0f + std::cos(std::numbers::pi_v<float> * completed));
    return from * ((1.0f - alpha) * cosine + alpha);
  };
  float s = static_cast<float>(step);
  if (!warmup_target) return decay(std::min(s, steps), initial_learning_rate);
  const float warmup = static_cast<float>(warmup_steps);
  s = std::min(s, steps + warmup);
  if (s < warmup) return (*warmup_target - initial_learning_rate) * (s / warmup) + initial_learning_rate;
  return decay(s - warmup, *warmup_target);
}

InverseTimeDecay::InverseTimeDecay(float initial, int64_t steps, float rate, bool stair)
    : initial_learning_rate(initial), decay_steps(steps), decay_rate(rate), staircase(stair) {
  check_decay_steps("InverseTimeDecay", decay_steps);
}

float InverseTimeDecay::operator()(int64_t step) const {
  float p = static_cast<float>(step) / static_cast<float>(decay_steps);
  if (staircase) p = std::floor(p);
  return initial_learning_rate / (1.0f + decay_rate * p);
}

PolynomialDecay::PolynomialDecay(float initial, int64_t steps, float end, float p, bool c)
    : initial_learning_rate(initial), decay_steps(steps), end_learning_rate(end), power(p), cycle(c) {
  check_decay_steps("PolynomialDecay", decay_steps);
}

float PolynomialDecay::operator()(int64_t step) const {
  float s = static_cast<float>(step);
  float steps = static_cast<float>(decay_steps);
  if (cycle) {
    // The first multiple of decay_steps at or above the step (1 at step 0).
    steps *= step == 0 ? 1.0f : std::ceil(s / steps);
  } else {
    s = std::min(s, steps);
  }
  const float p = s / steps;
  return (initial_learning_rate - end_learning_rate) * std::pow(1.0f - p, power) + end_learning_rate;
}

}  // namespace kerosene::optimizers::schedules
