// The files `kerosene train` writes: --save, --checkpoint, --backup-dir and --tensorboard, as
// Keras' model.save, ModelCheckpoint, BackupAndRestore and TensorBoard write them.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>

#include "cli/train_command.h"
#include "kerosene/callbacks.h"
#include "kerosene/sequential.h"

namespace kerosene::cli {

/// The checkpoint name under --checkpoint DIR, a ModelCheckpoint template: the epoch, 1-based.
inline constexpr const char* kCheckpointName = "ckpt-{epoch:02d}.keras";

/// For --save: a name ending in .keras (the whole model) or .weights.h5 (the weights).
const CLI::Validator& save_name();

/// The callbacks behind the file options, kept to report what they wrote.
struct TrainFiles {
  std::shared_ptr<callbacks::BackupAndRestore> backup;
  std::shared_ptr<callbacks::ModelCheckpoint> checkpoint;
  std::shared_ptr<callbacks::TensorBoard> tensorboard;
};

/// Adds the callbacks the options ask for to `fit` (BackupAndRestore first, so that it restores
/// before the others see the first epoch). `chief`: whether this process is the one that writes
/// the logs (only one worker of several does).
TrainFiles add_file_callbacks(const TrainArgs& args, bool chief, FitOptions& fit);

/// Writes --save after training; nothing on a worker that is not the chief.
void save_trained(const TrainArgs& args, const Model& model, bool chief);

/// Whether --backup-dir holds a backup now (after fit stopped early), to say the run resumes.
bool backup_left(const TrainArgs& args);

/// {"model": PATH, "checkpoints": [...], "backup_dir": DIR, "tensorboard": [event files]}: what
/// the run wrote, each key only for an option given.
nlohmann::json files_written(const TrainArgs& args, const TrainFiles& files);

}  // namespace kerosene::cli
