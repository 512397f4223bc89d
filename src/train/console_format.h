// The number and time formats of Keras 3's console output (progress bar, verbose=2 line,
// summary totals), kept apart from the printing so that tests can check them one by one.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace kerosene::console {

/// " 937/1875": the count right-aligned to the target's digits; "     10/Unknown" without one.
std::string step_count(int current, int target);
/// The ETA as Keras shows it (no label): "7s", "1:05", "1:01:05".
std::string format_eta(double seconds);
/// Elapsed time: "%.0fs".
std::string format_seconds(double seconds);
/// Progbar._format_time: " 3s/step", " 12ms/step", " 80us/step" (0 reads " 0s/step").
std::string format_step_time(double seconds, const char* unit);
/// " - accuracy: 0.9138 - loss: 1.2340e-04": %.4f, or %.4e for values at or below 1e-3.
/// The bar compares |v| with 1e-3; Keras' verbose=2 line compares v itself (so negatives use %e).
std::string format_metrics(const std::vector<std::pair<std::string, double>>& entries, bool absolute);
/// Keras 3's verbose=2 line: "239/239 - 6s - 26ms/step - accuracy: 0.8697 - loss: 0.0191\n".
std::string epoch_line(int current, int target, double elapsed, double per_step,
                       const std::vector<std::pair<std::string, double>>& entries);
/// "54,410".
std::string with_thousands(int64_t n);
/// "212.54 KB": bytes in B/KB/MB/GB/TB/PB at steps of 1024, two decimals.
std::string readable_size(double bytes);

}  // namespace kerosene::console
