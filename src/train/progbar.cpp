// ProgbarLogger: Keras 2.x's Progbar (keras/utils/generic_utils.py) and the ProgbarLogger
// callback around it, reproduced character for character so that logs read as Keras users
// expect them.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <iostream>
#include <string>

#include "kerosene/callbacks.h"

namespace kerosene::callbacks {
namespace {

constexpr int kBarWidth = 30;
// A terminal redraws cheaply in place; a log file gets one line per update, so fewer of them.
constexpr double kDynamicInterval = 0.05;
constexpr double kStaticInterval = 1.0;

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
  char buffer[128];
  va_list args;
  va_start(args, format);
  int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return std::string(buffer, n < 0 ? 0 : std::min<size_t>(n, sizeof buffer - 1));
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool is_terminal(const std::ostream* out) {
  if (out == &std::cerr || out == &std::clog) return isatty(STDERR_FILENO) != 0;
  if (out == &std::cout) return isatty(STDOUT_FILENO) != 0;
  return false;
}

// Keras' Progbar._format_time: " 3s/step", " 12ms/step", " 80us/step".
std::string format_time(double seconds, const char* unit) {
  if (seconds >= 1 || seconds == 0) return printf_string(" %.0fs/%s", seconds, unit);
  if (seconds >= 1e-3) return printf_string(" %.0fms/%s", seconds * 1e3, unit);
  return printf_string(" %.0fus/%s", seconds * 1e6, unit);
}

std::string format_eta(double eta) {
  long long s = static_cast<long long>(eta);
  if (eta > 3600) return printf_string("%lld:%02lld:%02lld", s / 3600, (s % 3600) / 60, s % 60);
  if (eta > 60) return printf_string("%lld:%02lld", s / 60, s % 60);
  return printf_string("%llds", s);
}

// " - loss: 0.2962 - accuracy: 0.9138"; fit's bookkeeping entries are not metrics.
std::string format_logs(const Logs& logs) {
  std::string text;
  for (const auto& [name, value] : logs.entries()) {
    if (name == "batch" || name == "size") continue;
    text += " - " + name + ": ";
    text += printf_string(std::fabs(value) > 1e-3 ? "%.4f" : "%.4e", value);
  }
  return text;
}

// "  10/1875" or, without a target, "     10/Unknown".
std::string format_count(int current, int target) {
  if (target <= 0) return printf_string("%7d/Unknown", current);
  int digits = static_cast<int>(std::log10(target)) + 1;
  return printf_string("%*d/%d", digits, current, target);
}

}  // namespace

ProgbarLogger::ProgbarLogger(int verbose, std::ostream* out)
    : verbose_(verbose), out_(out ? out : &std::cerr), dynamic_(is_terminal(out_)) {}

void ProgbarLogger::on_train_begin(const Logs&) { in_fit_ = true; }
void ProgbarLogger::on_train_end(const Logs&) { in_fit_ = false; }

void ProgbarLogger::on_epoch_begin(int epoch, const Logs&) {
  start(params().steps);
  // Keras 2.x prints the header only when there is more than one epoch.
  if (verbose_ > 0 && params().epochs > 1) {
    *out_ << "Epoch " << epoch + 1 << '/' << params().epochs << '\n';
    out_->flush();
  }
}

void ProgbarLogger::on_train_batch_end(int batch, const Logs& logs) {
  seen_ = batch + 1;
  // verbose 2 only prints at the end; the last batch is redrawn with val_* at epoch end.
  if (verbose_ == 1) update(seen_, logs, false);
}

void ProgbarLogger::on_epoch_end(int epoch, const Logs& logs) {
  update(target_ > 0 ? target_ : seen_, logs, true);
}

void ProgbarLogger::on_test_begin(const Logs&) {
  if (!in_fit_) start(params().steps);
}

void ProgbarLogger::on_test_batch_end(int batch, const Logs& logs) {
  if (in_fit_) return;
  seen_ = batch + 1;
  if (verbose_ == 1) update(seen_, logs, false);
}

void ProgbarLogger::on_test_end(const Logs& logs) {
  if (!in_fit_) update(target_ > 0 ? target_ : seen_, logs, true);
}

void ProgbarLogger::on_predict_begin(const Logs&) { start(params().steps); }

void ProgbarLogger::on_predict_batch_end(int batch, const Logs&) {
  seen_ = batch + 1;
  if (verbose_ == 1) update(seen_, no_logs_, false);
}

void ProgbarLogger::on_predict_end(const Logs&) {
  update(target_ > 0 ? target_ : seen_, no_logs_, true);
}

void ProgbarLogger::start(int target) {
  target_ = target;
  seen_ = 0;
  start_time_ = now_seconds();
  first_step_time_ = -1;
  drawn_ = false;
  last_line_width_ = 0;
}

void ProgbarLogger::update(int current, const Logs& logs, bool finalize) {
  if (verbose_ <= 0) return;
  double now = now_seconds();
  // Step 1 carries start-up costs (allocation, first kernel launches); Keras times from its end.
  if (current == 1 && first_step_time_ < 0) first_step_time_ = now;
  if (verbose_ == 1) {
    double interval = dynamic_ ? kDynamicInterval : kStaticInterval;
    if (!finalize && drawn_ && now - last_draw_time_ < interval) return;
    draw_bar(current, logs, finalize, now);
  } else if (finalize) {
    draw_summary(current, logs, now);
  }
  drawn_ = true;
  last_draw_time_ = now;
}

void ProgbarLogger::draw_bar(int current, const Logs& logs, bool finalize, double now) {
  std::string line = format_count(current, target_);
  if (target_ > 0) {
    int prog_width = static_cast<int>(kBarWidth * (static_cast<double>(current) / target_));
    line += " [";
    if (prog_width > 0) {
      line.append(prog_width - 1, '=');
      line += current < target_ ? '>' : '=';
    }
    line.append(std::max(0, kBarWidth - prog_width), '.');
    line += ']';
  }
  double per_step = current <= 0 ? 0.0
                    : current > 1 && first_step_time_ >= 0
                        ? (now - first_step_time_) / (current - 1)
                        : (now - start_time_) / current;
  if (target_ <= 0 || finalize) {
    line += printf_string(" - %.0fs", now - start_time_) + format_time(per_step, "step");
  } else {
    line += " - ETA: " + format_eta(per_step * (target_ - current));
  }
  line += format_logs(logs);

  if (dynamic_) {
    size_t width = line.size();
    // Spaces overwrite the tail of a longer previous line (e.g. a longer ETA).
    if (last_line_width_ > width) line.append(last_line_width_ - width, ' ');
    last_line_width_ = width;
    *out_ << '\r' << line;
    if (finalize) *out_ << '\n';
  } else {
    *out_ << line << '\n';
  }
  out_->flush();
}

// verbose 2, Keras 2.11: "1875/1875 - 3s - loss: 0.2962 - 3s/epoch - 1ms/step".
void ProgbarLogger::draw_summary(int current, const Logs& logs, double now) {
  double elapsed = now - start_time_;
  int steps = target_ > 0 ? target_ : current;
  std::string line = format_count(current, target_) + printf_string(" - %.0fs", elapsed);
  line += format_logs(logs);
  line += " -" + format_time(elapsed, "epoch");
  line += " -" + format_time(steps > 0 ? elapsed / steps : 0.0, "step");
  *out_ << line << '\n';
  out_->flush();
}

}  // namespace kerosene::callbacks
