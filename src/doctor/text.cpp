#include "doctor/text.h"

#include <cstdio>

namespace kerosene::doctor {

std::string join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? separator : "") + parts[i];
  return out;
}

std::string count_text(size_t gpus) { return std::to_string(gpus) + (gpus == 1 ? " GPU" : " GPUs"); }

std::string bytes_text(size_t bytes) {
  const double kib = 1024.0, mib = kib * 1024, gib = mib * 1024;
  char buffer[32];
  if (bytes >= gib) {
    std::snprintf(buffer, sizeof buffer, "%.1f GiB", static_cast<double>(bytes) / gib);
  } else if (bytes >= mib) {
    std::snprintf(buffer, sizeof buffer, "%.0f MiB", static_cast<double>(bytes) / mib);
  } else if (bytes >= kib) {
    std::snprintf(buffer, sizeof buffer, "%.0f KiB", static_cast<double>(bytes) / kib);
  } else {
    std::snprintf(buffer, sizeof buffer, "%zu B", bytes);
  }
  return buffer;
}

}  // namespace kerosene::doctor
