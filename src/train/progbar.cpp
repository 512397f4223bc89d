// ProgbarLogger: Keras 3's Progbar (keras/src/utils/progbar.py) and the ProgbarLogger callback
// around it, reproduced byte for byte (tests/reference/console holds Keras' own output) so that
// logs read as Keras users expect them.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <string>

#include "kerosene/callbacks.h"
#include "train/console_format.h"

namespace kerosene::callbacks {
namespace {

constexpr int kBarWidth = 20;
constexpr double kInterval = 0.05;  // Keras' default: at most 20 redraws a second
const char* const kBarChar = "\xe2\x94\x81";  // U+2501 '━'

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool is_terminal(const std::ostream* out) {
  if (out == &std::cout) return isatty(STDOUT_FILENO) != 0;
  if (out == &std::cerr || out == &std::clog) return isatty(STDERR_FILENO) != 0;
  return false;
}

// Keras passes logs through a pytree, which sorts the keys; val_* are added after, sorted too.
std::vector<std::pair<std::string, double>> keras_order(const Logs& logs) {
  std::vector<std::pair<std::string, double>> entries;
  for (const auto& entry : logs.entries()) {
    if (entry.first != "batch" && entry.first != "size") entries.push_back(entry);  // bookkeeping, not metrics
  }
  auto is_val = [](const std::string& name) { return name.rfind("val_", 0) == 0; };
  std::stable_sort(entries.begin(), entries.end(), [&](const auto& a, const auto& b) {
    if (is_val(a.first) != is_val(b.first)) return !is_val(a.first);
    return a.first < b.first;
  });
  return entries;
}

}  // namespace

ProgbarLogger::ProgbarLogger(int verbose, std::ostream* out)
    : verbose_(verbose), out_(out ? out : &std::cout), colors_(is_terminal(out_)) {}

int ProgbarLogger::verbosity() const { return verbose_ >= 0 ? verbose_ : params().verbose; }

void ProgbarLogger::on_train_begin(Logs&) { in_fit_ = true; }
void ProgbarLogger::on_train_end(Logs&) { in_fit_ = false; }

void ProgbarLogger::on_epoch_begin(int epoch, Logs&) {
  start(params().steps);
  if (verbosity() > 0 && params().epochs > 1) {
    *out_ << "Epoch " << epoch + 1 << '/' << params().epochs << '\n';
    out_->flush();
  }
}

void ProgbarLogger::on_train_batch_end(int batch, Logs& logs) {
  seen_ = batch + 1;
  if (verbosity() == 1) update(seen_, logs, false);
}

void ProgbarLogger::on_epoch_end(int, Logs& logs) { finish(logs); }

void ProgbarLogger::on_test_begin(Logs&) {
  if (!in_fit_) start(params().steps);
}

void ProgbarLogger::on_test_batch_end(int batch, Logs& logs) {
  if (in_fit_) return;
  seen_ = batch + 1;
  if (verbosity() == 1) update(seen_, logs, false);
}

void ProgbarLogger::on_test_end(Logs& logs) {
  if (!in_fit_) finish(logs);
}

void ProgbarLogger::on_predict_begin(Logs&) { start(params().steps); }

void ProgbarLogger::on_predict_batch_end(int batch, Logs&) {
  seen_ = batch + 1;
  if (verbosity() == 1) update(seen_, no_logs_, false);
}

void ProgbarLogger::on_predict_end(Logs&) { finish(no_logs_); }

void ProgbarLogger::start(int target) {
  target_ = target;
  seen_ = 0;
  start_time_ = now_seconds();
  first_step_time_ = -1;
  last_draw_time_ = 0;
  last_line_width_ = 0;
}

void ProgbarLogger::finish(const Logs& logs) {
  if (target_ <= 0) target_ = seen_;  // an unknown length is known at the end
  update(target_, logs, true);
}

double ProgbarLogger::step_seconds(int current, double now) {
  if (current <= 0) return 0;
  // Step 1 carries start-up costs (allocation, first kernel launches); Keras times from its end.
  const double per_step = first_step_time_ >= 0 && current > 1 ? (now - first_step_time_) / (current - 1)
                                                               : (now - start_time_) / current;
  if (current == 1) first_step_time_ = now;
  return per_step;
}

void ProgbarLogger::update(int current, const Logs& logs, bool finalize) {
  const int verbose = verbosity();
  if (verbose <= 0) return;
  const double now = now_seconds();
  const double per_step = step_seconds(current, now);
  const auto entries = keras_order(logs);
  if (verbose == 1) {
    if (!finalize && now - last_draw_time_ < kInterval) return;
    draw_bar(current, entries, finalize, now, per_step);
  } else if (finalize && target_ > 0) {
    *out_ << console::epoch_line(current, target_, now - start_time_, per_step, entries);
    out_->flush();
  }
  last_draw_time_ = now;
}

void ProgbarLogger::draw_bar(int current, const std::vector<std::pair<std::string, double>>& entries, bool finalize,
                             double now, double per_step) {
  auto styled = [&](const char* code, const std::string& text) {
    return colors_ ? std::string("\x1b[") + code + "m" + text + "\x1b[0m" : text;
  };
  // Keras erases with backspaces and a carriage return; a non-dynamic display starts a new line.
  std::string message = dynamic_ ? std::string(last_line_width_, '\b') + "\r" : "\n";
  size_t width = 0;  // what the line occupies on screen: code points, no escape codes
  if (target_ > 0) {
    const std::string count = console::step_count(current, target_);
    const int done = static_cast<int>(kBarWidth * (static_cast<double>(current) / target_));
    std::string filled, rest;
    for (int i = 0; i < kBarWidth; ++i) (i < done ? filled : rest) += kBarChar;
    message += styled("1", count) + " ";
    if (done > 0) message += styled("32", filled);
    message += styled("37", rest);
    width += count.size() + 1 + kBarWidth;
  } else {
    const std::string count = console::step_count(current, 0);
    message += count;
    width += count.size();
  }
  const std::string clock = target_ > 0 && !finalize ? console::format_eta(per_step * (target_ - current))
                                                     : console::format_seconds(now - start_time_);
  const std::string info = console::format_step_time(per_step, "step") + console::format_metrics(entries, true);
  message += " " + styled("1", clock) + info;
  width += 1 + clock.size() + info.size();
  // Spaces overwrite the tail of a longer previous line (e.g. a longer ETA).
  if (last_line_width_ > width) message.append(last_line_width_ - width, ' ');
  if (finalize) message += '\n';
  *out_ << message;
  out_->flush();
  last_line_width_ = width;
}

}  // namespace kerosene::callbacks
