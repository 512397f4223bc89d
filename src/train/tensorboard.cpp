// callbacks::TensorBoard: Keras 3's scalar logs (keras/src/callbacks/tensorboard.py), written
// with io::EventFileWriter instead of tf.summary.
#include <filesystem>
#include <string_view>

#include "io/tensorboard_writer.h"
#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"
#include "nn/optimizer.h"
#include "train/model_state.h"

namespace kerosene::callbacks {
namespace {

// TF's writers flush every 10 events; between epoch ends (per-batch logging) so does this one,
// so that TensorBoard, which tails the files, sees progress within a long epoch.
constexpr size_t kFlushEvery = 10;

bool is_validation(std::string_view name) { return name.starts_with("val_"); }

int parse_update_freq(const std::string& update_freq) {
  if (update_freq == "epoch") return 0;
  if (update_freq == "batch") return 1;
  throw ValueError("TensorBoard: update_freq must be \"epoch\", \"batch\" or a positive number of batches, got \"" +
                   update_freq + "\"");
}

nn::Optimizer* optimizer_of(Model* model) {
  if (model == nullptr || !model->state().compiled) return nullptr;
  return model->state().optimizer.get();
}

}  // namespace

TensorBoard::TensorBoard(std::string log_dir, const std::string& update_freq)
    : log_dir_(std::move(log_dir)), update_freq_(parse_update_freq(update_freq)) {}

TensorBoard::TensorBoard(std::string log_dir, int update_freq) : log_dir_(std::move(log_dir)), update_freq_(update_freq) {
  if (update_freq <= 0) {
    throw ValueError("TensorBoard: update_freq must be a positive number of batches, got " + std::to_string(update_freq));
  }
}

TensorBoard::~TensorBoard() = default;

// Created on first use, as Keras' writers are: a run with nothing to log leaves no file.
io::EventFileWriter& TensorBoard::train_writer() {
  if (!train_) {
    train_ = std::make_unique<io::EventFileWriter>((std::filesystem::path(log_dir_) / "train").string());
    train_file_ = train_->path();
  }
  return *train_;
}
io::EventFileWriter& TensorBoard::validation_writer() {
  if (!validation_) {
    validation_ = std::make_unique<io::EventFileWriter>((std::filesystem::path(log_dir_) / "validation").string());
    validation_file_ = validation_->path();
  }
  return *validation_;
}

void TensorBoard::on_train_begin(Logs&) {
  // Each fit gets new files, as Keras' set_model resets its writers; a log_dir that cannot be
  // created is reported before the first epoch rather than after it.
  train_.reset();
  validation_.reset();
  train_file_.clear();
  validation_file_.clear();
  std::error_code ec;
  std::filesystem::create_directories(log_dir_, ec);
  if (ec) throw IOError("TensorBoard: cannot create the log directory '" + log_dir_ + "': " + ec.message());
  global_batch_ = 0;
  in_fit_ = true;
}

void TensorBoard::on_train_end(Logs&) {
  // Closed as Keras closes its writers; the next fit or evaluate starts new files.
  in_fit_ = false;
  train_.reset();
  validation_.reset();
}

void TensorBoard::on_train_batch_begin(int, Logs&) { ++global_batch_; }

void TensorBoard::on_train_batch_end(int, Logs& logs) {
  // Keras 3 documents "every N batches"; its record_if closure captures step 0 and so writes
  // every batch whatever N is. The documented behaviour is kept here (identical for N = 1).
  if (update_freq_ == 0 || global_batch_ % update_freq_ != 0) return;
  io::EventFileWriter& w = train_writer();
  for (const auto& [name, value] : logs.entries()) w.add_scalar("batch_" + name, static_cast<float>(value), global_batch_);
  if (w.pending_records() >= kFlushEvery) w.flush();
}

// evaluation_<name>_vs_iterations at the optimizer's step count, as Keras' on_test_end.
void TensorBoard::write_evaluation(const Logs& logs, const char* prefix) {
  const nn::Optimizer* optimizer = optimizer_of(model());
  if (optimizer == nullptr) return;
  const std::string_view strip(prefix);
  io::EventFileWriter* w = nullptr;
  for (const auto& [name, value] : logs.entries()) {
    if (!std::string_view(name).starts_with(strip)) continue;
    if (w == nullptr) w = &validation_writer();
    w->add_scalar("evaluation_" + name.substr(strip.size()) + "_vs_iterations", static_cast<float>(value),
                  optimizer->iterations());
  }
}

void TensorBoard::on_test_end(Logs& logs) {
  // fit's validation does not call the test hooks: on_epoch_end writes its evaluation tags.
  if (in_fit_) return;
  write_evaluation(logs, "");
  if (validation_) validation_->flush();
}

void TensorBoard::on_epoch_end(int epoch, Logs& logs) {
  if (logs.empty()) return;  // as Keras' _log_epoch_metrics: not even the learning rate
  // Keras evaluates (and so writes evaluation_*) before on_epoch_end writes epoch_*.
  write_evaluation(logs, "val_");
  bool any_train = false, any_validation = false;
  // Keras' _collect_learning_rate sets the train logs' "learning_rate" to the optimizer's: in
  // place when a callback before (ReduceLROnPlateau) added one, else after the others.
  const nn::Optimizer* optimizer = optimizer_of(model());
  bool wrote_learning_rate = false;
  for (const auto& [name, value] : logs.entries()) {
    if (is_validation(name)) {
      validation_writer().add_scalar("epoch_" + name.substr(4), static_cast<float>(value), epoch);
      any_validation = true;
    } else {
      const bool learning_rate = optimizer != nullptr && name == "learning_rate";
      train_writer().add_scalar("epoch_" + name,
                                learning_rate ? optimizer->current_learning_rate() : static_cast<float>(value), epoch);
      wrote_learning_rate = wrote_learning_rate || learning_rate;
      any_train = true;
    }
  }
  if (optimizer != nullptr && !wrote_learning_rate) {
    train_writer().add_scalar("epoch_learning_rate", optimizer->current_learning_rate(), epoch);
    any_train = true;
  }
  if (any_train) train_->flush();
  if (any_validation || validation_) validation_writer().flush();
}

}  // namespace kerosene::callbacks
