// kerosene's own log lines ("kerosene: ..." on stderr) and the one switch that silences them:
// KEROSENE_MIN_LOG_LEVEL, with TensorFlow's TF_CPP_MIN_LOG_LEVEL meaning (0 or unset: all,
// 1: no INFO, 2: no WARNING either, 3: no ERROR either). Nothing else (verbose included)
// silences them, so the line that says where training runs is never lost by accident.
#pragma once

#include <string>

namespace kerosene::log {

enum class Level { info = 0, warning = 1, error = 2 };

/// KEROSENE_MIN_LOG_LEVEL as a number (read at every call: tests and users may change it).
int min_level();
/// Whether a line of this level is printed.
bool enabled(Level level);
/// Writes "kerosene: <message>" and a newline to stderr in one write, when the level is
/// enabled. The level filters; the wording ("warning: ...") is the message's own.
void write(Level level, const std::string& message);

}  // namespace kerosene::log
