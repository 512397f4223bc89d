#include "train/console_format.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace kerosene::console {
namespace {

std::string printf_string(const char* format, ...) __attribute__((format(printf, 1, 2)));
std::string printf_string(const char* format, ...) {
  char buffer[128];
  va_list args;
  va_start(args, format);
  const int n = std::vsnprintf(buffer, sizeof buffer, format, args);
  va_end(args);
  return std::string(buffer, n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), sizeof buffer - 1));
}

}  // namespace

std::string step_count(int current, int target) {
  if (target <= 0) return printf_string("%7d/Unknown", current);
  const int digits = static_cast<int>(std::log10(target)) + 1;
  return printf_string("%*d/%d", digits, current, target);
}

std::string format_eta(double eta) {
  // Python's "%d" % float truncates; // and % floor, the same for the non-negative ETA.
  const auto s = static_cast<long long>(std::max(0.0, eta));
  if (eta > 3600) return printf_string("%lld:%02lld:%02lld", s / 3600, (s % 3600) / 60, s % 60);
  if (eta > 60) return printf_string("%lld:%02lld", s / 60, s % 60);
  return printf_string("%llds", s);
}

std::string format_seconds(double seconds) { return printf_string("%.0fs", seconds); }

std::string format_step_time(double seconds, const char* unit) {
  if (seconds >= 1 || seconds == 0) return printf_string(" %.0fs/%s", seconds, unit);
  if (seconds >= 1e-3) return printf_string(" %.0fms/%s", seconds * 1000.0, unit);
  return printf_string(" %.0fus/%s", seconds * 1000000.0, unit);
}

std::string format_metrics(const std::vector<std::pair<std::string, double>>& entries, bool absolute) {
  std::string text;
  for (const auto& [name, value] : entries) {
    const bool fixed = (absolute ? std::fabs(value) : value) > 1e-3;
    text += " - " + name + ": " + printf_string(fixed ? "%.4f" : "%.4e", value);
  }
  return text;
}

std::string epoch_line(int current, int target, double elapsed, double per_step,
                       const std::vector<std::pair<std::string, double>>& entries) {
  return step_count(current, target) + " - " + format_seconds(elapsed) + " -" + format_step_time(per_step, "step") +
         format_metrics(entries, false) + "\n";
}

std::string with_thousands(int64_t n) {
  const std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string readable_size(double bytes) {
  static const char* const kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
  for (const char* unit : kUnits) {
    if (bytes / 1024 < 1) return printf_string("%.2f %s", bytes, unit);
    bytes /= 1024;
  }
  return printf_string("%.2f PB", bytes);
}

}  // namespace kerosene::console
