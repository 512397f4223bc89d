#include "runtime/log.h"

#include <cstdio>
#include <cstdlib>

#include "core/environment.h"

namespace kerosene::log {

int min_level() {
  const std::string value = env_string("KEROSENE_MIN_LOG_LEVEL");
  if (value.empty()) return 0;
  char* end = nullptr;
  const long level = std::strtol(value.c_str(), &end, 10);
  return *end == '\0' ? static_cast<int>(level) : 0;  // an unreadable value silences nothing
}

bool enabled(Level level) { return static_cast<int>(level) >= min_level(); }

void write(Level level, const std::string& message) {
  if (!enabled(level)) return;
  const std::string line = "kerosene: " + message + "\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace kerosene::log
