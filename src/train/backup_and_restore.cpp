// callbacks::BackupAndRestore: Keras 3's BackupAndRestore (keras/src/callbacks/backup_and_restore.py)
// made exact: besides the weights and the epoch, kerosene saves the optimizer state, the step
// within the epoch with its running totals, and the random state (model seed, dropout draw
// counters), so a resumed fit ends with the weights of an uninterrupted one.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "data/atomic_file.h"
#include "train/distribution.h"
#include "io/hdf5_file.h"
#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"
#include "nn/simple_layers.h"
#include "saving/model_file.h"
#include "train/model_state.h"
#include "train/save_freq.h"

namespace kerosene::callbacks {
namespace {

using json = nlohmann::json;
constexpr const char* kStateAttribute = "kerosene_training_state";

std::vector<train::ModelState*> replicas_of(train::ModelState& s) {
  std::vector<train::ModelState*> out{&s};
  if (s.mirrored) {
    for (int r = 1; r < s.mirrored->replicas(); ++r) out.push_back(&s.mirrored->replica_model(r));
  }
  return out;
}

std::vector<nn::Dropout*> dropouts_of(train::ModelState& s) {
  std::vector<nn::Dropout*> out;
  for (auto& layer : s.layers) {
    if (auto* d = dynamic_cast<nn::Dropout*>(layer.get())) out.push_back(d);
  }
  return out;
}

json training_state(train::ModelState& s, int epoch, int64_t step) {
  json offsets = json::array();
  for (train::ModelState* replica : replicas_of(s)) {
    json per_layer = json::array();
    for (nn::Dropout* d : dropouts_of(*replica)) per_layer.push_back(d->draw_offset());
    offsets.push_back(per_layer);
  }
  json state = {{"format", 1}, {"epoch", epoch}, {"step", step}, {"seed", s.seed}, {"dropout_offsets", offsets}};
  if (step > 0 && s.epoch_totals) {
    state["totals"] = {{"loss_sum", s.epoch_totals->loss_sum},
                       {"metric_sums", s.epoch_totals->metric_sums},
                       {"samples", s.epoch_totals->samples}};
  }
  return state;
}

[[noreturn]] void corrupt(const std::string& file, const std::string& what) {
  std::string message = "BackupAndRestore: the backup file \"";
  message.append(file).append("\" is corrupt: ").append(what).append(
      "; delete the backup directory to start over, or restore it from elsewhere");
  throw IOError(message);
}

json parse_json(const std::string& text, const std::string& file) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) corrupt(file, "expected a JSON object, found " + std::string(j.type_name()));
    return j;
  } catch (const json::exception& e) {
    corrupt(file, std::string("expected JSON, found text that does not parse (") + e.what() + ")");
  }
}

/// What resume needs from kerosene's state, checked: a field missing or of the wrong type
/// names the file.
train::ResumePoint resume_point_of(const json& state, const std::string& file, const train::ModelState& s) {
  try {
    train::ResumePoint point;
    point.epoch = state.at("epoch").get<int>();
    point.step = state.at("step").get<int64_t>();
    if (point.epoch < 0 || point.step < 0) {
      corrupt(file, "expected epoch and step >= 0, found " + std::to_string(point.epoch) + " and " + std::to_string(point.step));
    }
    if (point.step > 0) {
      const json& t = state.at("totals");
      point.totals.loss_sum = t.at("loss_sum").get<double>();
      point.totals.metric_sums = t.at("metric_sums").get<std::vector<double>>();
      point.totals.samples = t.at("samples").get<int64_t>();
      if (point.totals.metric_sums.size() != s.running_sum_count()) {
        corrupt(file, "expected " + std::to_string(s.running_sum_count()) + " running sums (losses and metric slots), found " +
                          std::to_string(point.totals.metric_sums.size()) + " (was the model compiled differently?)");
      }
    }
    return point;
  } catch (const json::exception& e) {
    corrupt(file, std::string("expected kerosene's training state, found ") + e.what());
  }
}

void restore_random_state(train::ModelState& s, const json& state, const std::string& file) {
  try {
    const auto seed = state.at("seed").get<uint64_t>();
    const auto offsets = state.at("dropout_offsets").get<std::vector<std::vector<uint64_t>>>();
    std::vector<train::ModelState*> replicas = replicas_of(s);
    for (size_t r = 0; r < replicas.size(); ++r) {
      // Replica r's seed is derived from the primary's, as MirroredModel::prepare derives it.
      replicas[r]->reseed(seed + 0x9E3779B97F4A7C15ull * r);
      std::vector<nn::Dropout*> dropouts = dropouts_of(*replicas[r]);
      // A backup from a run with fewer replicas: replica 0's counters for the others.
      const std::vector<uint64_t>& saved = offsets.empty() ? std::vector<uint64_t>{} : offsets[std::min(r, offsets.size() - 1)];
      if (saved.size() != dropouts.size()) {
        corrupt(file, "expected draw counters for " + std::to_string(dropouts.size()) + " Dropout layers, found " +
                          std::to_string(saved.size()) + " (is it another model's backup?)");
      }
      for (size_t i = 0; i < dropouts.size(); ++i) dropouts[i]->set_draw_offset(saved[i]);
    }
  } catch (const json::exception& e) {
    corrupt(file, std::string("expected the random state (seed, dropout_offsets), found ") + e.what());
  }
}

}  // namespace

BackupAndRestore::BackupAndRestore(std::string backup_dir, const std::string& save_freq, bool delete_checkpoint)
    : backup_dir_(std::move(backup_dir)), delete_checkpoint_(delete_checkpoint) {
  if (backup_dir_.empty()) throw ValueError("BackupAndRestore: backup_dir is empty; expected a directory name");
  save_every_batches_ = parse_save_freq(save_freq, "BackupAndRestore");
}

std::string BackupAndRestore::weights_path() const {
  return (std::filesystem::path(backup_dir_) / "latest.weights.h5").string();
}

std::string BackupAndRestore::metadata_path() const {
  return (std::filesystem::path(backup_dir_) / "training_metadata.json").string();
}

void BackupAndRestore::on_train_begin(Logs&) {
  restored_ = false;
  restored_epoch_ = restored_batch_ = 0;
  batches_since_save_ = 0;
  current_epoch_ = 0;
  Model* m = model();
  if (!m) throw RuntimeError("BackupAndRestore: no model (the callback is used outside fit)");
  if (!m->built()) throw ValueError("BackupAndRestore: the model must be built before fit restores a backup into it");
  restore();
}

void BackupAndRestore::restore() {
  const std::string weights = weights_path(), metadata = metadata_path();
  const bool have_weights = std::filesystem::exists(weights), have_metadata = std::filesystem::exists(metadata);
  if (!have_weights && !have_metadata) return;  // a fresh run
  if (!have_weights) corrupt(metadata, "it describes a backup whose weights file \"" + weights + "\" is missing");

  train::ModelState& s = model()->state();
  std::optional<json> meta;
  if (have_metadata) {
    std::ifstream in(metadata, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) corrupt(metadata, "it cannot be read");
    meta = parse_json(text.str(), metadata);
    if (!meta->contains("epoch") || !(*meta)["epoch"].is_number_integer() || (*meta)["epoch"].get<int64_t>() < 0) {
      corrupt(metadata, "expected {\"epoch\": <integer >= 0>, \"batch\": <integer>}, found " + meta->dump());
    }
  }
  io::H5File file = io::H5File::open(weights);  // IOError naming the file when not HDF5
  // The state written with the weights, in the same atomic rename, is the authority: a crash
  // between the weights' rename and the metadata's leaves the metadata one backup behind.
  std::optional<json> state;
  if (auto text = file.root().string_attribute(kStateAttribute)) state = parse_json(*text, weights);
  try {
    saving::read_weights(*model(), file.root());
  } catch (const ValueError& e) {
    std::string message = "BackupAndRestore: the backup \"";
    throw ValueError(message.append(weights).append("\" does not fit the model: ").append(e.what()));
  }

  train::ResumePoint point;
  if (state) {
    point = resume_point_of(*state, weights, s);
    restore_random_state(s, *state, weights);
  } else if (meta) {
    // A backup Keras wrote: the epoch only (it never resumes within an epoch).
    point.epoch = (*meta)["epoch"].get<int>();
  } else {
    corrupt(weights, "expected the attribute \"" + std::string(kStateAttribute) + "\" or a training_metadata.json beside it, found neither");
  }
  s.resume = point;
  restored_ = true;
  restored_epoch_ = point.epoch;
  restored_batch_ = static_cast<int>(point.step);
}

void BackupAndRestore::on_epoch_begin(int epoch, Logs&) { current_epoch_ = epoch; }

void BackupAndRestore::on_train_batch_begin(int, Logs&) {}

void BackupAndRestore::on_train_batch_end(int batch, Logs&) {
  if (save_every_batches_ == 0) return;
  if (++batches_since_save_ < save_every_batches_) return;
  batches_since_save_ = 0;
  backup(current_epoch_, static_cast<int64_t>(batch) + 1);
}

void BackupAndRestore::on_epoch_end(int epoch, Logs&) {
  if (save_every_batches_ == 0) backup(epoch + 1, 0);
}

void BackupAndRestore::backup(int epoch, int64_t step) {
  train::ModelState& s = model()->state();
  if (s.distribution && !s.distribution->chief) return;  // the workers hold the same state: the chief writes it
  std::error_code ec;
  std::filesystem::create_directories(backup_dir_, ec);
  if (ec) {
    std::string message = "BackupAndRestore: cannot create the backup directory \"";
    throw IOError(message.append(backup_dir_).append("\": ").append(ec.message()));
  }
  const json state = training_state(s, epoch, step);
  // The weights (with the state) first, then the metadata: both atomic, so whatever moment a
  // crash comes, the weights file on disk is whole and carries the state it belongs to.
  io::H5File file = io::H5File::create(weights_path());
  saving::write_weights(*model(), file.root(), /*include_optimizer=*/true);
  file.root().set_string_attribute(kStateAttribute, state.dump());
  file.save(weights_path());
  // Keras' "batch" is the last batch seen (0 after an epoch's end).
  const json meta = {{"epoch", epoch}, {"batch", step > 0 ? step - 1 : 0}, {"kerosene", state}};
  const std::string text = meta.dump();
  data::write_file_atomically(metadata_path(), std::vector<uint8_t>(text.begin(), text.end()));
}

void BackupAndRestore::on_train_end(Logs&) {
  if (!delete_checkpoint_) return;
  train::ModelState& s = model()->state();
  // An interrupted run (Ctrl-C) ends fit without finishing it: the backup is what resumes it.
  if (s.interrupted) return;
  if (s.distribution && !s.distribution->chief) return;
  // Only the files this callback writes, and the directory if that leaves it empty: Keras
  // removes the whole tree, which is unkind to a backup_dir the user shares with other files.
  std::error_code ec;
  std::filesystem::remove(weights_path(), ec);
  std::filesystem::remove(metadata_path(), ec);
  if (std::filesystem::is_directory(backup_dir_, ec) && std::filesystem::is_empty(backup_dir_, ec)) {
    std::filesystem::remove(backup_dir_, ec);
  }
}

}  // namespace kerosene::callbacks
