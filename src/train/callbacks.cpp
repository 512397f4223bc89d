// Logs and the built-in callbacks other than the progress bar (progbar.cpp).
#include "kerosene/callbacks.h"

#include <cmath>
#include <iostream>

#include "kerosene/error.h"
#include "kerosene/sequential.h"

namespace kerosene {

void Logs::set(const std::string& name, double value) {
  for (auto& entry : entries_) {
    if (entry.first == name) {
      entry.second = value;
      return;
    }
  }
  entries_.emplace_back(name, value);
}

std::optional<double> Logs::get(const std::string& name) const {
  for (const auto& entry : entries_) {
    if (entry.first == name) return entry.second;
  }
  return std::nullopt;
}

namespace callbacks {

EarlyStopping::EarlyStopping(Options options) : options_(std::move(options)) {
  const std::string& mode = options_.mode;
  if (mode != "auto" && mode != "min" && mode != "max") {
    throw ValueError("EarlyStopping: mode must be \"auto\", \"min\" or \"max\", got \"" + mode +
                     "\"");
  }
  if (options_.patience < 0) {
    throw ValueError("EarlyStopping: patience must be >= 0, got " +
                     std::to_string(options_.patience));
  }
  const std::string& name = options_.monitor;
  bool looks_like_a_score = name.find("acc") != std::string::npos ||
                            name.find("auc") != std::string::npos || name.starts_with("fmeasure");
  maximize_ = mode == "max" || (mode == "auto" && looks_like_a_score);
  // Keras ignores the sign the user gives; the direction comes from the mode.
  options_.min_delta = std::fabs(options_.min_delta);
  best_ = maximize_ ? -INFINITY : INFINITY;
}

std::ostream& EarlyStopping::out() const { return options_.out ? *options_.out : std::cerr; }

bool EarlyStopping::improved(double current, double reference) const {
  return maximize_ ? current - options_.min_delta > reference
                   : current + options_.min_delta < reference;
}

void EarlyStopping::on_train_begin(Logs&) {
  // Reset, so that one instance can serve several fit calls, as in Keras.
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = 0;
  best_ = maximize_ ? -INFINITY : INFINITY;
  have_best_weights_ = false;
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(int epoch, Logs& logs) {
  std::optional<double> current = logs.get(options_.monitor);
  if (!current) {
    // Usually a typo or a val_* monitor without validation data: say so once, keep training.
    if (!warned_missing_) {
      std::string available;
      for (const auto& [name, value] : logs.entries()) {
        available += (available.empty() ? "" : ",") + name;
      }
      out() << "WARNING: Early stopping conditioned on metric `" << options_.monitor
            << "` which is not available. Available metrics are: " << available << '\n';
      warned_missing_ = true;
    }
    return;
  }
  if (epoch < options_.start_from_epoch) return;

  // get_weights may return views of the live variables, which the optimizer updates in place.
  auto snapshot = [this] {
    best_weights_ = model()->get_weights();
    for (Tensor& w : best_weights_) w = w.clone();
    have_best_weights_ = true;
  };
  bool restoring = options_.restore_best_weights && model() != nullptr;
  // Keep the first epoch's weights in case no epoch ever improves.
  if (restoring && !have_best_weights_) snapshot();

  ++wait_;
  if (improved(*current, best_)) {
    best_ = *current;
    best_epoch_ = epoch;
    if (restoring) snapshot();
    // Only a value that also beats the baseline restarts the count.
    if (!options_.baseline || improved(*current, *options_.baseline)) {
      wait_ = 0;
      return;
    }
  }
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    if (model() != nullptr) model()->stop_training = true;
    if (restoring && have_best_weights_) {
      if (options_.verbose > 0) {
        out() << "Restoring model weights from the end of the best epoch: " << best_epoch_ + 1
              << ".\n";
      }
      model()->set_weights(best_weights_);
    }
  }
}

void EarlyStopping::on_train_end(Logs&) {
  if (stopped_epoch_ >= 0 && options_.verbose > 0) {
    out() << "Epoch " << stopped_epoch_ + 1 << ": early stopping\n";
  }
}

void TerminateOnNaN::on_train_batch_end(int batch, Logs& logs) {
  std::optional<double> loss = logs.get("loss");
  if (!loss || std::isfinite(*loss)) return;
  std::cerr << "Batch " << batch << ": Invalid loss, terminating training\n";
  terminated_ = true;
  if (model() != nullptr) model()->stop_training = true;
}

}  // namespace callbacks
}  // namespace kerosene
