// callbacks::ModelCheckpoint: Keras 3's ModelCheckpoint (keras/src/callbacks/model_checkpoint.py).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "train/distribution.h"
#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"
#include "train/model_state.h"
#include "train/python_format.h"
#include "train/save_freq.h"

namespace kerosene::callbacks {

int parse_save_freq(const std::string& save_freq, const char* who) {
  if (save_freq == "epoch") return 0;
  size_t used = 0;
  long value = 0;
  try {
    value = std::stol(save_freq, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != save_freq.size() || value <= 0 || value > 1'000'000'000) {
    std::string message = who;
    message.append(": save_freq must be \"epoch\" or a positive number of batches, got \"").append(save_freq).append("\"");
    throw ValueError(message);
  }
  return static_cast<int>(value);
}

namespace {

std::string format_5f(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.5f", v);
  return buf;
}

}  // namespace

ModelCheckpoint::ModelCheckpoint(std::string filepath, Options options)
    : filepath_(std::move(filepath)), options_(std::move(options)) {
  const std::string& mode = options_.mode;
  if (mode != "auto" && mode != "min" && mode != "max") {
    throw ValueError("ModelCheckpoint: mode must be \"auto\", \"min\" or \"max\", got \"" + mode + "\"");
  }
  if (options_.save_weights_only && !filepath_.ends_with(".weights.h5")) {
    std::string message = "ModelCheckpoint: with save_weights_only=true the filepath must end in \".weights.h5\", got \"";
    throw ValueError(message.append(filepath_).append("\""));
  }
  if (!options_.save_weights_only && !filepath_.ends_with(".keras")) {
    std::string message = "ModelCheckpoint: the filepath must end in \".keras\" (or pass save_weights_only=true with a "
                          "\".weights.h5\" name), got \"";
    throw ValueError(message.append(filepath_).append("\""));
  }
  save_every_batches_ = parse_save_freq(options_.save_freq, "ModelCheckpoint");
  const std::string& name = options_.monitor;
  maximize_ = mode == "max" || (mode == "auto" && (name.find("acc") != std::string::npos || name.starts_with("fmeasure")));
  best_ = options_.initial_value_threshold.value_or(maximize_ ? -INFINITY : INFINITY);
}

std::ostream& ModelCheckpoint::out() const { return options_.out ? *options_.out : std::cerr; }

void ModelCheckpoint::on_train_begin(Logs&) {
  batches_since_save_ = 0;
  current_epoch_ = 0;
}

void ModelCheckpoint::on_epoch_begin(int epoch, Logs&) { current_epoch_ = epoch; }

void ModelCheckpoint::on_train_batch_end(int batch, Logs& logs) {
  if (save_every_batches_ == 0) return;
  if (++batches_since_save_ < save_every_batches_) return;
  batches_since_save_ = 0;
  save(current_epoch_, logs, batch);
}

void ModelCheckpoint::on_epoch_end(int epoch, Logs& logs) {
  if (save_every_batches_ == 0) save(epoch, logs, std::nullopt);
}

void ModelCheckpoint::save(int epoch, const Logs& logs, std::optional<int> batch) {
  // Keras: filepath.format(epoch=epoch + 1, [batch=batch + 1,] **logs).
  std::vector<std::pair<std::string, train::FormatValue>> fields;
  fields.push_back({"epoch", {static_cast<double>(epoch + 1), true}});
  if (batch) fields.push_back({"batch", {static_cast<double>(*batch + 1), true}});
  for (const auto& [name, value] : logs.entries()) fields.push_back({name, {value, false}});
  const std::string path = train::python_format(filepath_, fields);
  const std::string prefix = "\nEpoch " + std::to_string(epoch + 1) + ": ";

  if (options_.save_best_only) {
    const std::optional<double> current = logs.get(options_.monitor);
    if (!current) {
      out() << "WARNING: Can save best model only with " << options_.monitor << " available, skipping.\n";
      return;
    }
    const bool improved = maximize_ ? *current > best_ : *current < best_;
    if (!improved) {
      if (options_.verbose > 0) {
        out() << prefix << options_.monitor << " did not improve from " << format_5f(best_) << '\n';
      }
      return;
    }
    if (options_.verbose > 0) {
      out() << prefix << options_.monitor << " improved from " << format_5f(best_) << " to " << format_5f(*current)
            << ", saving model to " << path << '\n';
    }
    best_ = *current;
  } else if (options_.verbose > 0) {
    out() << prefix << "saving model to " << path << '\n';
  }

  Model* m = model();
  if (!m) throw RuntimeError("ModelCheckpoint: no model to save (the callback is used outside fit)");
  // Under a multi-worker strategy the workers hold the same weights: only the chief writes.
  const auto& distribution = m->state().distribution;
  if (distribution && !distribution->chief) return;
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      std::string message = "ModelCheckpoint: cannot create the directory \"";
      throw IOError(message.append(parent.string()).append("\" for \"").append(path).append("\": ").append(ec.message()));
    }
  }
  if (options_.save_weights_only) {
    m->save_weights(path);
  } else {
    m->save(path);
  }
  saved_.push_back(path);
}

}  // namespace kerosene::callbacks
