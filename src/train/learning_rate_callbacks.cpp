// LearningRateScheduler and ReduceLROnPlateau: callbacks that set model.optimizer's learning
// rate between epochs, with Keras' rules and messages, and add it to the epoch's logs.
#include <charconv>
#include <cmath>
#include <iostream>

#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/model.h"

namespace kerosene::callbacks {
namespace {

// Python's repr of a float: the shortest text that reads back the same double.
std::string python_repr(double value) {
  char text[40];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  std::string s(text, end);
  if (s.find_first_of(".e") == std::string::npos && std::isfinite(value)) s += ".0";
  return s;
}

Optimizer optimizer_of(const Callback& callback, const char* who) {
  if (callback.model() == nullptr) throw RuntimeError(std::string(who) + ": the callback has no model (use it in fit)");
  return callback.model()->optimizer();
}

// Keras' logs["learning_rate"] = float(optimizer.learning_rate): the float32 as a double.
void log_learning_rate(const Callback& callback, const char* who, Logs& logs) {
  logs.set("learning_rate", static_cast<double>(optimizer_of(callback, who).learning_rate()));
}

}  // namespace

LearningRateScheduler::LearningRateScheduler(Schedule schedule, int verbose, std::ostream* out)
    : schedule_(std::move(schedule)), verbose_(verbose), out_(out) {
  if (!schedule_) throw ValueError("LearningRateScheduler: expected a schedule function, got an empty one");
}

void LearningRateScheduler::on_epoch_begin(int epoch, Logs&) {
  Optimizer optimizer = optimizer_of(*this, "LearningRateScheduler");
  const double learning_rate = schedule_(epoch, static_cast<double>(optimizer.learning_rate()));
  optimizer.set_learning_rate(static_cast<float>(learning_rate));
  if (verbose_ > 0) {
    (out_ ? *out_ : std::cout) << "\nEpoch " << epoch + 1 << ": LearningRateScheduler setting learning rate to "
                               << python_repr(learning_rate) << ".\n";
  }
}

void LearningRateScheduler::on_epoch_end(int, Logs& logs) { log_learning_rate(*this, "LearningRateScheduler", logs); }

ReduceLROnPlateau::ReduceLROnPlateau(Options options) : options_(std::move(options)) {
  if (options_.factor >= 1.0) {
    throw ValueError("ReduceLROnPlateau does not support a factor >= 1.0. Received factor=" +
                     python_repr(options_.factor));
  }
  const std::string& mode = options_.mode;
  if (mode != "auto" && mode != "min" && mode != "max") {
    throw ValueError("ReduceLROnPlateau: mode must be \"auto\", \"min\" or \"max\", got \"" + mode + "\"");
  }
  const std::string& name = options_.monitor;
  const bool looks_like_a_score = name.find("acc") != std::string::npos || name.find("auc") != std::string::npos;
  maximize_ = mode == "max" || (mode == "auto" && looks_like_a_score);
  options_.min_delta = std::fabs(options_.min_delta);
}

std::ostream& ReduceLROnPlateau::out() const { return options_.out ? *options_.out : std::cerr; }

bool ReduceLROnPlateau::improved(double current) const {
  if (!best_) return true;
  return maximize_ ? current - options_.min_delta > *best_ : current + options_.min_delta < *best_;
}

void ReduceLROnPlateau::on_train_begin(Logs&) {
  best_.reset();
  cooldown_counter_ = 0;
  wait_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(int epoch, Logs& logs) {
  log_learning_rate(*this, "ReduceLROnPlateau", logs);
  const std::optional<double> current = logs.get(options_.monitor);
  if (!current) {
    if (!warned_missing_) {
      std::string available;
      for (const auto& [name, value] : logs.entries()) available += (available.empty() ? "" : ",") + name;
      out() << "WARNING: Learning rate reduction is conditioned on metric `" << options_.monitor
            << "` which is not available. Available metrics are: " << available << ".\n";
      warned_missing_ = true;
    }
    return;
  }
  // Keras' order: a cooldown epoch resets the wait, an improvement resets it too, and only an
  // epoch out of cooldown (checked after the countdown) counts towards patience.
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improved(*current)) {
    best_ = *current;
    wait_ = 0;
    return;
  }
  if (cooldown_counter_ > 0) return;
  if (++wait_ < options_.patience) return;
  Optimizer optimizer = optimizer_of(*this, "ReduceLROnPlateau");
  const double old_lr = static_cast<double>(optimizer.learning_rate());
  if (!(old_lr > static_cast<double>(static_cast<float>(options_.min_lr)))) return;
  const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
  optimizer.set_learning_rate(static_cast<float>(new_lr));
  if (options_.verbose > 0) {
    out() << "\nEpoch " << epoch + 1 << ": ReduceLROnPlateau reducing learning rate to " << python_repr(new_lr)
          << ".\n";
  }
  cooldown_counter_ = options_.cooldown;
  wait_ = 0;
}

}  // namespace kerosene::callbacks
