// save_freq as ModelCheckpoint and BackupAndRestore take it: "epoch" or a number of batches.
#pragma once

#include <string>

namespace kerosene::callbacks {

/// 0 for "epoch", else the positive number of batches; ValueError naming `who` otherwise.
int parse_save_freq(const std::string& save_freq, const char* who);

}  // namespace kerosene::callbacks
