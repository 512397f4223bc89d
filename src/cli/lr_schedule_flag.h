// --lr-schedule: Keras' learning-rate schedules (keras.optimizers.schedules) on the command line,
// each parameter named as in Keras:
//   exponential:decay_steps=1000,decay_rate=0.9[,staircase=true][,initial_learning_rate=0.01]
//   piecewise_constant:boundaries=1000;2000,values=0.1;0.01;0.001
//   cosine:decay_steps=5000[,alpha=0.1][,warmup_target=0.01,warmup_steps=500]
//   inverse_time:decay_steps=1000,decay_rate=0.5[,staircase=true]
//   polynomial:decay_steps=1000[,end_learning_rate=0.0001][,power=1][,cycle=true]
// A kind is also taken by its Keras class name (ExponentialDecay, ...). initial_learning_rate,
// when the spec does not give it, is --learning-rate or else the optimizer's default.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

#include "kerosene/learning_rate_schedules.h"

namespace kerosene::cli {

/// The schedule `spec` describes. Throws ValueError naming the spec, the bad kind, key or value,
/// and what is allowed (the kinds, or the kind's parameters), or a required parameter missing.
std::shared_ptr<const LearningRateSchedule> parse_lr_schedule(const std::string& spec, float initial_learning_rate);

/// Whether `spec` names its initial rate (initial_learning_rate, or piecewise_constant's values).
bool lr_schedule_sets_initial_rate(const std::string& spec);

/// For --lr-schedule: parse_lr_schedule's errors at parse time, before any data is loaded.
const CLI::Validator& lr_schedule_spec();

}  // namespace kerosene::cli
