#include "cli/train_files.h"

#include <filesystem>

#include "kerosene/error.h"

namespace kerosene::cli {
namespace {

namespace fs = std::filesystem;

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

void create_directory(const std::string& dir, const char* option) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw IOError(std::string(option) + ": cannot create the directory '" + dir + "': " + ec.message());
}

}  // namespace

const CLI::Validator& save_name() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        if (ends_with(text, ".keras") || ends_with(text, ".weights.h5")) return "";
        return "expected a name ending in .keras (the model) or .weights.h5 (its weights), got " + text;
      },
      "FILE.keras or FILE.weights.h5");
  return validator;
}

TrainFiles add_file_callbacks(const TrainArgs& a, bool chief, FitOptions& fit) {
  TrainFiles files;
  if (!a.backup_dir.empty()) {
    // Every worker restores from the backup; the callback lets only the chief write it.
    files.backup = std::make_shared<callbacks::BackupAndRestore>(a.backup_dir);
    fit.callbacks.insert(fit.callbacks.begin(), files.backup);
  }
  if (!a.checkpoint_dir.empty()) {
    if (chief) create_directory(a.checkpoint_dir, "--checkpoint");
    files.checkpoint = std::make_shared<callbacks::ModelCheckpoint>((fs::path(a.checkpoint_dir) / kCheckpointName).string());
    fit.callbacks.push_back(files.checkpoint);
  }
  // Logs are the chief's alone: two workers appending to one run would interleave their events.
  if (!a.tensorboard_dir.empty() && chief) {
    files.tensorboard = std::make_shared<callbacks::TensorBoard>(a.tensorboard_dir);
    fit.callbacks.push_back(files.tensorboard);
  }
  return files;
}

void save_trained(const TrainArgs& a, const Model& model, bool chief) {
  if (a.save.empty() || !chief) return;
  const fs::path parent = fs::path(a.save).parent_path();
  if (!parent.empty()) create_directory(parent.string(), "--save");
  if (ends_with(a.save, ".weights.h5")) {
    model.save_weights(a.save);
  } else {
    model.save(a.save);
  }
}

bool backup_left(const TrainArgs& a) {
  std::error_code ec;
  return !a.backup_dir.empty() && fs::is_directory(a.backup_dir, ec) && !fs::is_empty(a.backup_dir, ec);
}

nlohmann::json files_written(const TrainArgs& a, const TrainFiles& files) {
  nlohmann::json out = nlohmann::json::object();
  if (!a.save.empty()) out["model"] = a.save;
  if (files.checkpoint) out["checkpoints"] = files.checkpoint->saved_files();
  if (files.backup) out["backup_dir"] = a.backup_dir;
  if (files.tensorboard) {
    nlohmann::json events = nlohmann::json::array();
    for (const std::string& f : {files.tensorboard->train_file(), files.tensorboard->validation_file()}) {
      if (!f.empty()) events.push_back(f);
    }
    out["tensorboard"] = events;
  }
  return out;
}

}  // namespace kerosene::cli
