// Callbacks, with Keras' names and hooks. Write your own by deriving from Callback.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kerosene/tensor.h"

namespace kerosene {

class Model;

namespace io {
class EventFileWriter;
}

/// Ordered name -> value pairs ("loss", "accuracy", "val_loss", ...), as Keras' `logs` dict.
/// Setting an existing name updates it in place, so a Logs reused across steps never allocates.
/// Callbacks get the logs to change, as in Keras: what one adds in on_epoch_end (as
/// ReduceLROnPlateau and LearningRateScheduler add "learning_rate") reaches the callbacks after
/// it, the History, the progress bar, CSVLogger and TensorBoard. fit gives every batch and
/// epoch fresh logs: what a callback adds to one batch's is gone at the next.
class Logs {
 public:
  void set(const std::string& name, double value);
  /// Keeps the first `count` entries (fit drops what callbacks added to the previous batch's).
  void truncate(size_t count) {
    if (entries_.size() > count) entries_.resize(count);
  }
  std::optional<double> get(const std::string& name) const;
  bool contains(const std::string& name) const { return get(name).has_value(); }
  void clear() { entries_.clear(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<std::pair<std::string, double>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, double>> entries_;
};

/// What fit/evaluate/predict tell callbacks before they start (Keras' `self.params`).
struct CallbackParams {
  int epochs = 1;
  int steps = 0;    ///< batches per epoch (or per evaluate/predict run)
  int verbose = 1;
};

class Callback {
 public:
  virtual ~Callback() = default;

  void set_model(Model* model) { model_ = model; }
  void set_params(const CallbackParams& params) { params_ = params; }
  Model* model() const { return model_; }
  const CallbackParams& params() const { return params_; }

  virtual void on_train_begin(Logs& /*logs*/) {}
  virtual void on_train_end(Logs& /*logs*/) {}
  virtual void on_epoch_begin(int /*epoch*/, Logs& /*logs*/) {}
  virtual void on_epoch_end(int /*epoch*/, Logs& /*logs*/) {}
  virtual void on_train_batch_begin(int /*batch*/, Logs& /*logs*/) {}
  virtual void on_train_batch_end(int /*batch*/, Logs& /*logs*/) {}
  virtual void on_test_begin(Logs& /*logs*/) {}
  virtual void on_test_end(Logs& /*logs*/) {}
  virtual void on_test_batch_begin(int /*batch*/, Logs& /*logs*/) {}
  virtual void on_test_batch_end(int /*batch*/, Logs& /*logs*/) {}
  virtual void on_predict_begin(Logs& /*logs*/) {}
  virtual void on_predict_end(Logs& /*logs*/) {}
  virtual void on_predict_batch_begin(int /*batch*/, Logs& /*logs*/) {}
  virtual void on_predict_batch_end(int /*batch*/, Logs& /*logs*/) {}

 private:
  Model* model_ = nullptr;
  CallbackParams params_;
};

using CallbackPtr = std::shared_ptr<Callback>;

namespace callbacks {

/// Keras 3's progress bar, on stdout as in Keras. verbose 1: a bar redrawn in place (backspaces
/// and '\r', as Keras writes it on Linux whatever the stream); verbose 2: one line per epoch.
///   1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.9138 - loss: 0.2962
///   1875/1875 - 3s - 1ms/step - accuracy: 0.9138 - loss: 0.2962          (verbose 2)
/// Logs are shown as given (fit passes running averages), in Keras' order: names sorted, the
/// val_* ones after the others. The `Epoch i/N` header is printed only when epochs > 1.
/// params().steps is the bar's target (0: unknown, shown as `n/Unknown`). Between
/// on_train_begin and on_train_end the on_test_* hooks print nothing, so validation inside fit
/// stays silent, as in Keras. Passed to fit/evaluate/predict, it replaces the default bar.
/// Bold and colour (ANSI codes) only when the stream is a terminal.
class ProgbarLogger : public Callback {
 public:
  /// `verbose`: 1 bar, 2 a line per epoch, 0 silent; -1 (the default) takes fit's `verbose`,
  /// as Keras' ProgbarLogger does. `out`: the stream written to; nullptr means std::cout. Not owned.
  explicit ProgbarLogger(int verbose = -1, std::ostream* out = nullptr);
  /// Whether to redraw in place ("\b...\r"; the default, as Keras on POSIX) or to start each
  /// update on a new line.
  void set_dynamic_display(bool dynamic) { dynamic_ = dynamic; }
  /// Whether to write Keras' ANSI bold and colour codes; default: whether `out` is a terminal.
  void set_colors(bool colors) { colors_ = colors; }

  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_train_batch_end(int batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_test_begin(Logs& logs) override;
  void on_test_batch_end(int batch, Logs& logs) override;
  void on_test_end(Logs& logs) override;
  void on_predict_begin(Logs& logs) override;
  void on_predict_batch_end(int batch, Logs& logs) override;
  void on_predict_end(Logs& logs) override;

 private:
  int verbosity() const;
  void start(int target);
  void finish(const Logs& logs);
  double step_seconds(int current, double now);
  void update(int current, const Logs& logs, bool finalize);
  void draw_bar(int current, const std::vector<std::pair<std::string, double>>& entries, bool finalize, double now,
                double per_step);

  int verbose_;
  std::ostream* out_;
  bool dynamic_ = true;
  bool colors_;
  bool in_fit_ = false;
  int target_ = 0;  // <= 0: unknown
  int seen_ = 0;
  double start_time_ = 0;
  double first_step_time_ = -1;  // when step 1 ended; < 0 until then
  double last_draw_time_ = 0;    // 0: never drawn, so the first update always is
  size_t last_line_width_ = 0;
  Logs no_logs_;
};

/// Stops training when `monitor` has stopped improving (Keras' EarlyStopping): after `patience`
/// epochs without an improvement of more than min_delta (or, with a baseline, without beating
/// it), never at epoch 0 nor before start_from_epoch. With model() null (a callback used outside
/// fit) it only records its state: stop_training and weights are then left alone.
class EarlyStopping : public Callback {
 public:
  struct Options {
    std::string monitor = "val_loss";
    double min_delta = 0.0;
    int patience = 0;
    int verbose = 0;
    std::string mode = "auto";  ///< "min", "max", or "auto" (max for names with "acc"/"auc")
    std::optional<double> baseline{};
    bool restore_best_weights = false;
    int start_from_epoch = 0;
    std::ostream* out = nullptr;  ///< messages and warnings; nullptr means std::cerr
  };
  EarlyStopping() : EarlyStopping(Options{}) {}
  /// Throws ValueError if mode is not "auto", "min" or "max", or patience is negative.
  explicit EarlyStopping(Options options);

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;
  /// Epoch (0-based) at which training was stopped; -1 if it ran to the end.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  /// Best monitored value so far (+-infinity before the first).
  double best() const { return best_; }
  /// Epochs since the last improvement.
  int wait() const { return wait_; }

 private:
  bool improved(double current, double reference) const;
  std::ostream& out() const;

  Options options_;
  bool maximize_ = false;
  int wait_ = 0;
  int stopped_epoch_ = -1;
  int best_epoch_ = 0;
  double best_ = 0;
  bool warned_missing_ = false;
  bool have_best_weights_ = false;
  std::vector<Tensor> best_weights_;
};

/// Stops training when the loss becomes NaN or infinite (Keras' TerminateOnNaN).
/// Without it, fit raises NumericError on a non-finite loss instead.
class TerminateOnNaN : public Callback {
 public:
  void on_train_batch_end(int batch, Logs& logs) override;
  bool terminated() const { return terminated_; }

 private:
  bool terminated_ = false;
};

/// Calls the given functions (Keras' LambdaCallback), for callbacks written inline:
///   callbacks::LambdaCallback({.on_epoch_end = [](int epoch, Logs& logs) { logs.set("x", 1.0); }})
/// or by setting the *_fn members.
class LambdaCallback : public Callback {
 public:
  /// Keras' keyword arguments; on_batch_* are on_train_batch_*.
  struct Functions {
    std::function<void(int, Logs&)> on_epoch_begin{}, on_epoch_end{}, on_batch_begin{}, on_batch_end{};
    std::function<void(Logs&)> on_train_begin{}, on_train_end{};
  };
  LambdaCallback() = default;
  explicit LambdaCallback(Functions f)
      : on_epoch_begin_fn(std::move(f.on_epoch_begin)), on_epoch_end_fn(std::move(f.on_epoch_end)),
        on_batch_begin_fn(std::move(f.on_batch_begin)), on_batch_end_fn(std::move(f.on_batch_end)),
        on_train_begin_fn(std::move(f.on_train_begin)), on_train_end_fn(std::move(f.on_train_end)) {}

  std::function<void(int, Logs&)> on_epoch_begin_fn, on_epoch_end_fn;
  std::function<void(int, Logs&)> on_batch_begin_fn, on_batch_end_fn;
  std::function<void(Logs&)> on_train_begin_fn, on_train_end_fn;

  void on_epoch_begin(int epoch, Logs& logs) override { if (on_epoch_begin_fn) on_epoch_begin_fn(epoch, logs); }
  void on_epoch_end(int epoch, Logs& logs) override { if (on_epoch_end_fn) on_epoch_end_fn(epoch, logs); }
  void on_train_batch_begin(int batch, Logs& logs) override { if (on_batch_begin_fn) on_batch_begin_fn(batch, logs); }
  void on_train_batch_end(int batch, Logs& logs) override { if (on_batch_end_fn) on_batch_end_fn(batch, logs); }
  void on_train_begin(Logs& logs) override { if (on_train_begin_fn) on_train_begin_fn(logs); }
  void on_train_end(Logs& logs) override { if (on_train_end_fn) on_train_end_fn(logs); }
};

/// Sets the optimizer's learning rate at the start of every epoch to schedule(epoch, lr), lr the
/// current one (Keras' LearningRateScheduler). verbose > 0 prints Keras' line
/// "Epoch 3: LearningRateScheduler setting learning rate to 0.01.". The model's optimizer must
/// have been created with a number, not a schedule (RuntimeError otherwise, as Keras' TypeError).
/// At the end of every epoch it adds "learning_rate" (the optimizer's) to the logs, as Keras.
class LearningRateScheduler : public Callback {
 public:
  using Schedule = std::function<double(int epoch, double learning_rate)>;
  /// `out`: where verbose lines go; nullptr means std::cout.
  explicit LearningRateScheduler(Schedule schedule, int verbose = 0, std::ostream* out = nullptr);
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

 private:
  Schedule schedule_;
  int verbose_;
  std::ostream* out_;
};

/// Multiplies the learning rate by `factor` when `monitor` has not improved (by more than
/// min_delta) for `patience` epochs, then waits `cooldown` epochs before counting again, never
/// going below min_lr (Keras' ReduceLROnPlateau). mode "auto" maximizes names with "acc"/"auc".
/// Every on_epoch_end first adds "learning_rate" (the one this epoch used) to the logs, as Keras.
class ReduceLROnPlateau : public Callback {
 public:
  struct Options {
    std::string monitor = "val_loss";
    double factor = 0.1;
    int patience = 10;
    int verbose = 0;
    std::string mode = "auto";  ///< "min", "max" or "auto"
    double min_delta = 1e-4;
    int cooldown = 0;
    double min_lr = 0.0;
    std::ostream* out = nullptr;  ///< verbose lines and warnings; nullptr means std::cerr
  };
  ReduceLROnPlateau() : ReduceLROnPlateau(Options{}) {}
  /// Throws ValueError (Keras' message) if factor >= 1, or if mode is not "auto", "min" or "max".
  explicit ReduceLROnPlateau(Options options);

  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  /// Epochs without improvement counted so far; epochs of cooldown left; the best value seen.
  int wait() const { return wait_; }
  int cooldown_counter() const { return cooldown_counter_; }
  std::optional<double> best() const { return best_; }

 private:
  bool improved(double current) const;
  std::ostream& out() const;

  Options options_;
  bool maximize_ = false;
  int wait_ = 0;
  int cooldown_counter_ = 0;
  std::optional<double> best_;
  bool warned_missing_ = false;
};


/// Writes TensorBoard logs as Keras 3's TensorBoard callback does for scalars: runs
/// `<log_dir>/train` and `<log_dir>/validation`, one event file each (named as TF2 names them),
/// tags `epoch_<name>` for every entry of the epoch's logs (the `val_` prefix stripped in the
/// validation run) and `epoch_learning_rate` in the train run, at step = epoch (0-based). With
/// validation data, the validation run also gets `evaluation_<name>_vs_iterations` at step =
/// the optimizer's iterations, as Keras writes at the end of each evaluation (standalone
/// evaluate included). update_freq "epoch" (the default), "batch" (= 1) or N: also
/// `batch_<name>` in the train run every N batches, at the global batch count (1-based) as step.
/// Files are flushed at each epoch end (and every 10 records in between), only ever appended to.
/// View them with `tensorboard --logdir <log_dir>`. Not written: the model graph, histograms,
/// images, embeddings and profiles.
class TensorBoard : public Callback {
 public:
  /// Throws ValueError if update_freq is not "epoch", "batch" or a positive number.
  explicit TensorBoard(std::string log_dir = "logs", const std::string& update_freq = "epoch");
  TensorBoard(std::string log_dir, int update_freq);
  ~TensorBoard() override;

  /// Creates log_dir; throws IOError naming it if it cannot.
  void on_train_begin(Logs& logs) override;
  void on_train_end(Logs& logs) override;
  void on_train_batch_begin(int batch, Logs& logs) override;
  void on_train_batch_end(int batch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_test_end(Logs& logs) override;

  const std::string& log_dir() const { return log_dir_; }
  /// The event files of the current (or last) fit; empty for a run with no file.
  const std::string& train_file() const { return train_file_; }
  const std::string& validation_file() const { return validation_file_; }

 private:
  io::EventFileWriter& train_writer();
  io::EventFileWriter& validation_writer();
  void write_evaluation(const Logs& logs, const char* prefix);

  std::string log_dir_;
  int update_freq_ = 0;  // 0: per epoch only
  int64_t global_batch_ = 0;
  bool in_fit_ = false;
  std::unique_ptr<io::EventFileWriter> train_, validation_;
  std::string train_file_, validation_file_;
};

/// Streams each epoch's logs to a CSV file (Keras' CSVLogger): a header `epoch,<keys sorted>`,
/// then one row per epoch (0-based epoch, values as Python's repr of a float writes them, "NA"
/// for a key missing from a later epoch), rows ended by "\r\n" as Python's csv module does,
/// flushed after every row. append: add to an existing file, writing the header only if the
/// file is empty or new. The row's columns are the first epoch's keys, and a val_ column for
/// each when none of them is one (validation may start later), as Keras.
class CSVLogger : public Callback {
 public:
  explicit CSVLogger(std::string filename, char separator = ',', bool append = false);
  ~CSVLogger() override;

  /// Opens the file; throws IOError naming it if it cannot.
  void on_train_begin(Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

 private:
  void write_line(const std::vector<std::string>& fields);
  void close();

  std::string filename_;
  char separator_;
  bool append_;
  bool write_header_ = true;
  std::vector<std::string> keys_;
  bool have_keys_ = false;  // fixed by the first epoch's logs, even when they are empty
  std::FILE* file_ = nullptr;
};

/// Saves the model (or its weights) during fit, as Keras' ModelCheckpoint does. `filepath` may
/// hold Python format fields filled from the epoch (1-based) and the logs:
/// "ckpt-{epoch:02d}-{val_loss:.2f}.keras". A name ending in ".keras" gets the whole model
/// (Sequential::save), one ending in ".weights.h5" the weights; save_weights_only requires the
/// latter and the former the opposite (Keras' rule). save_best_only: save only when `monitor`
/// improved (mode "min", "max" or "auto": max for names with "acc", min otherwise), with a
/// warning when `monitor` is missing from the logs. save_freq: "epoch" or a number of batches.
/// Under a multi-worker strategy only the chief writes. Every write is atomic.
class ModelCheckpoint : public Callback {
 public:
  struct Options {
    std::string monitor = "val_loss";
    int verbose = 0;
    bool save_best_only = false;
    bool save_weights_only = false;
    std::string mode = "auto";
    std::string save_freq = "epoch";  ///< "epoch" or a positive number of batches ("100")
    std::optional<double> initial_value_threshold{};
    std::ostream* out = nullptr;  ///< messages; nullptr means std::cerr
  };
  /// Throws ValueError for a bad mode, save_freq, or a name that does not fit save_weights_only.
  explicit ModelCheckpoint(std::string filepath) : ModelCheckpoint(std::move(filepath), Options{}) {}
  ModelCheckpoint(std::string filepath, Options options);

  void on_train_begin(Logs& logs) override;
  void on_train_batch_end(int batch, Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;

  /// The files written so far, in order (a name written twice appears twice).
  const std::vector<std::string>& saved_files() const { return saved_; }
  double best() const { return best_; }

 private:
  void save(int epoch, const Logs& logs, std::optional<int> batch);
  std::ostream& out() const;

  std::string filepath_;
  Options options_;
  bool maximize_ = false;
  int save_every_batches_ = 0;  // 0: per epoch
  int batches_since_save_ = 0;
  int current_epoch_ = 0;
  double best_ = 0;
  std::vector<std::string> saved_;
};

/// Keras' BackupAndRestore: at the end of every epoch (or every `save_freq` batches) writes the
/// weights, the optimizer state, the epoch, the step and the random state to `backup_dir`;
/// when fit starts and a backup is there (the run was killed), restores all of it and goes on
/// from there, so the run ends with the same weights as one never interrupted (same seed, same
/// thread settings). delete_checkpoint: remove the backup when fit ends normally.
/// Under a multi-worker strategy only the chief writes and every worker restores (backup_dir
/// must be on a file system every worker sees). Restoring into a model with mirrored replicas
/// gives every replica the weights, the optimizer state and its own random state.
/// Other callbacks' state (EarlyStopping's patience, ModelCheckpoint's best) is not restored,
/// as in Keras.
class BackupAndRestore : public Callback {
 public:
  /// save_freq: "epoch" or a positive number of batches. Throws ValueError otherwise.
  explicit BackupAndRestore(std::string backup_dir, const std::string& save_freq = "epoch",
                            bool delete_checkpoint = true);

  void on_train_begin(Logs& logs) override;
  void on_train_batch_begin(int batch, Logs& logs) override;
  void on_train_batch_end(int batch, Logs& logs) override;
  void on_epoch_begin(int epoch, Logs& logs) override;
  void on_epoch_end(int epoch, Logs& logs) override;
  void on_train_end(Logs& logs) override;

  const std::string& backup_dir() const { return backup_dir_; }
  /// `<backup_dir>/latest.weights.h5`: the weights and the optimizer state, as Keras 3 names it,
  /// with kerosene's training state (epoch, step, totals, random state) as a root attribute, so
  /// the weights and the state they belong to are replaced together, by one atomic rename.
  std::string weights_path() const;
  /// `<backup_dir>/training_metadata.json`: Keras 3's {"epoch": E, "batch": B}, plus the same
  /// kerosene state under "kerosene"; written after the weights.
  std::string metadata_path() const;
  /// Whether on_train_begin found a backup and restored it; the epoch and batch fit goes on from.
  bool restored() const { return restored_; }
  int restored_epoch() const { return restored_epoch_; }
  int restored_batch() const { return restored_batch_; }

 private:
  /// Writes the backup: `epoch` and the `step`s of it done (0 at an epoch's end).
  void backup(int epoch, int64_t step);
  void restore();

  std::string backup_dir_;
  int save_every_batches_ = 0;  // 0: per epoch
  int batches_since_save_ = 0;
  bool delete_checkpoint_;
  int current_epoch_ = 0;
  bool restored_ = false;
  int restored_epoch_ = 0, restored_batch_ = 0;
};

}  // namespace callbacks
}  // namespace kerosene
