// Model: Keras' keras.Model, built from a graph of layer calls (the Functional API):
//
//   auto inputs = kerosene::Input({28, 28, 1});
//   auto x = layers::Flatten()(inputs);
//   auto outputs = layers::Dense(10, "softmax")(x);
//   kerosene::Model model(inputs, outputs);
//
// Sequential (sequential.h) is the one case of a Model that is a chain of layers; both run in
// the same graph executor and training loop.
#pragma once

#include <concepts>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kerosene/callbacks.h"
#include "kerosene/layers.h"
#include "kerosene/optimizers.h"
#include "kerosene/tensor.h"

namespace kerosene {

namespace train {
class ModelState;
}

/// What fit returns: per-epoch values of the loss and metrics (Keras' History).
struct History {
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;
  /// Per-epoch wall time in seconds and samples trained (not in Keras' History; kerosene adds them).
  std::vector<double> epoch_seconds;
  std::vector<int64_t> epoch_samples;
};

/// The data of a model's inputs (x) or targets (y): one tensor for a model with one input (or
/// output); for several, a list in the order of the model's inputs (outputs), or a map from
/// names (each Input's name; each output's layer name), as Keras takes lists and dicts:
///
///   model.fit({images, metadata}, {labels, scores});
///   model.fit({{"images", images}, {"metadata", metadata}}, labels);
class Tensors {
 public:
  Tensors() = default;
  Tensors(const Tensor& t) : list_{t} {}  // NOLINT(google-explicit-constructor): fit(x, y)
  Tensors(std::initializer_list<Tensor> list) : list_(list) {}
  Tensors(std::vector<Tensor> list) : list_(std::move(list)) {}  // NOLINT(google-explicit-constructor)
  Tensors(std::initializer_list<std::pair<const std::string, Tensor>> named) : named_(named) {}
  Tensors(std::map<std::string, Tensor> named) : named_(std::move(named)) {}  // NOLINT(google-explicit-constructor)

  bool empty() const { return list_.empty() && named_.empty(); }
  bool by_name() const { return !named_.empty(); }
  const std::vector<Tensor>& list() const { return list_; }
  const std::map<std::string, Tensor>& named() const { return named_; }

 private:
  std::vector<Tensor> list_;
  std::map<std::string, Tensor> named_;
};

struct FitOptions {
  int batch_size = 32;
  int epochs = 1;
  int verbose = 1;  ///< 0 silent, 1 progress bar, 2 one line per epoch
  std::vector<CallbackPtr> callbacks{};
  float validation_split = 0.0f;  ///< fraction taken from the end of x, y before shuffling
  std::optional<std::pair<Tensors, Tensors>> validation_data{};
  bool shuffle = true;
  int initial_epoch = 0;
  std::optional<int> steps_per_epoch{};
  /// Keras' sample_weight: one weight per sample of x (shape (N,) or (N, 1)), which multiplies
  /// that sample's loss (every output's) and so its gradient; "sum_over_batch_size" still
  /// divides by the batch size. validation_split takes the weights' end too. Undefined: none.
  Tensor sample_weight{};
  /// Keras' class_weight (a model with one output; not with sample_weight): a class index's
  /// weight, for each training sample by its label (an integer label, or a one-hot row's
  /// argmax); classes not listed weigh 1. Validation data is not weighted.
  std::map<int, float> class_weight{};
  /// Validate after every validation_freq-th epoch (Keras: when (epoch + 1) % freq == 0).
  int validation_freq = 1;
  /// The validation batch size (none: batch_size), and how many of its batches to evaluate
  /// (none: all of them).
  std::optional<int> validation_batch_size{};
  std::optional<int> validation_steps{};
};

struct EvaluateOptions {
  int batch_size = 32;
  int verbose = 1;
  std::vector<CallbackPtr> callbacks{};
  /// One weight per sample of x, as FitOptions::sample_weight: the loss is weighted (metrics
  /// are not, as Keras' `metrics`).
  Tensor sample_weight{};
};

struct PredictOptions {
  int batch_size = 32;
  int verbose = 0;
  std::vector<CallbackPtr> callbacks{};
};

/// Loss and metric values from evaluate, in Keras' order: "loss", each output's loss (a model
/// with several outputs), then the metrics. By name (`score["accuracy"]`) or, as Keras' list,
/// by position (`score[0]` is the loss).
struct EvaluateResult {
  std::vector<std::pair<std::string, double>> values;
  double operator[](const std::string& name) const;
  double operator[](size_t position) const;
  size_t size() const { return values.size(); }
  double loss() const { return (*this)["loss"]; }
};

/// compile's options for any model, several outputs included (Keras' compile arguments).
struct CompileOptions {
  /// One loss for every output, or one per output in the order of the model's outputs; the
  /// names and loss objects compile(optimizer, loss, ...) takes (kerosene/losses.h).
  std::vector<std::string> loss;
  /// One weight per output (empty: 1 each); the model's loss is the weighted sum of the
  /// outputs' losses, each of which the logs also show ("<output layer>_loss").
  std::vector<float> loss_weights{};
  /// One list of metric names per output (a model with one output may give its one list).
  std::vector<std::vector<std::string>> metrics{};
  bool from_logits = false;
  /// Keras' weighted_metrics (the same names, one list per output): metrics weighted by fit's
  /// and evaluate's sample_weight (or class_weight), sum(w * value) / sum(w); `metrics` are not.
  /// Logged by name, or "weighted_<name>" when a metric of `metrics` has that name.
  std::vector<std::vector<std::string>> weighted_metrics{};
};

class Model {
 public:
  /// A Functional model from its inputs (made by kerosene::Input) to its outputs (made by
  /// calling layers on them). Throws ValueError naming the tensors when an output needs an
  /// input that is not among `inputs`, or an input is not one made by Input.
  Model(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs, const std::string& name = "");
  Model(const KerasTensor& input, const KerasTensor& output, const std::string& name = "");
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  /// Creates the variables for inputs of `input_shape` (one sample); called by fit when needed.
  void build(const Shape& input_shape);
  bool built() const;

  /// `loss`: a Keras 3 loss name ("sparse_categorical_crossentropy", "mse", "huber", ...; the
  /// list is in kerosene/losses.h), optionally with options ("huber:delta=2",
  /// "categorical_crossentropy:from_logits:label_smoothing=0.1"), or a loss object from
  /// kerosene::losses (losses::Huber(2.0f)). `metrics`: "accuracy" (resolved for the loss as
  /// Keras does), "sparse_categorical_accuracy", "categorical_accuracy", "binary_accuracy",
  /// "mae", "mse", "root_mean_squared_error", "precision", "recall".
  /// (A template only so that `compile(opt, {.loss = ...})` is never taken for a string: a
  /// braced list deduces no type, so the CompileOptions overload is the one it picks.)
  template <typename Loss>
    requires std::convertible_to<const Loss&, std::string>
  void compile(const Optimizer& optimizer, const Loss& loss, const std::vector<std::string>& metrics = {},
               bool from_logits = false) {
    compile_with_loss(optimizer, std::string(loss), metrics, from_logits);
  }
  /// For a model with several outputs (per-output losses, loss_weights, metrics), or any other.
  void compile(const Optimizer& optimizer, const CompileOptions& options);
  /// Keras' model.optimizer: a handle sharing the compiled optimizer's state, so a callback can
  /// read and set its learning rate (under MirroredStrategy every replica follows it). Throws
  /// RuntimeError before compile.
  Optimizer optimizer() const;

  History fit(const Tensors& x, const Tensors& y, const FitOptions& options = {});
  EvaluateResult evaluate(const Tensors& x, const Tensors& y, const EvaluateOptions& options = {});
  /// The output of a model with one output (ValueError for several: use predict_outputs).
  Tensor predict(const Tensors& x, const PredictOptions& options = {});
  /// Every output, in the order of the model's outputs (Keras' predict returns a list).
  std::vector<Tensor> predict_outputs(const Tensors& x, const PredictOptions& options = {});

  // --- One batch, as Keras' *_on_batch: every row of x is one batch; no callbacks, no
  // progress bar. The values are this batch's alone (Keras resets the metrics first), in
  // evaluate's order. ---

  /// One optimizer step on the batch; its loss and metrics (before the step's update).
  EvaluateResult train_on_batch(const Tensors& x, const Tensors& y);
  /// The batch's loss and metrics, nothing updated.
  EvaluateResult test_on_batch(const Tensors& x, const Tensors& y);
  /// The model's output for the batch, in inference mode (one output; call for several).
  Tensor predict_on_batch(const Tensors& x);
  /// Keras' model(x, training=...): every output for x as one batch, in training mode
  /// (Dropout drops, BatchNormalization uses and updates the batch's statistics) or not.
  std::vector<Tensor> call(const Tensors& x, bool training = false);
  std::vector<Tensor> operator()(const Tensors& x, bool training = false) { return call(x, training); }

  /// Keras 3's summary: a box-drawn table, then the parameter counts with their sizes
  /// ("Total params: 54,410 (212.54 KB)"; "Optimizer params" once the optimizer has state). To
  /// stdout unless a stream is given. `line_length` 0: Keras' default, min(88, or 108 for a
  /// Functional model with branches, terminal width - 4); the terminal width is $COLUMNS, else
  /// stdout's terminal, else 80.
  void summary(std::ostream* out = nullptr, int line_length = 0) const;
  std::string summary_string(int line_length = 0) const;

  const std::string& name() const;
  std::vector<Layer> layers() const;
  int64_t count_params() const;
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& weights);
  Device device() const;

  // --- Files, in Keras 3's formats (src/saving). Every file is written to a temporary name
  // beside the target, flushed and renamed, so a crash never leaves half a file. ---

  /// Writes the model as Keras 3's `model.save("m.keras")` does: a zip of metadata.json,
  /// config.json (the model, build and compile config) and model.weights.h5 (the weights and,
  /// when compiled and trained, the optimizer state). keras.saving.load_model reads it.
  /// Throws ValueError unless the name ends in ".keras" and the model is built; IOError naming
  /// the file if it cannot be written.
  void save(const std::string& filepath) const;
  /// Writes the weights (and the optimizer state) as Keras 3's save_weights does; the name must
  /// end in ".weights.h5".
  void save_weights(const std::string& filepath) const;
  /// Reads weights into this (built) model from a .weights.h5 file, a .keras archive or a
  /// legacy Keras 2 / tf.keras .h5 model file; the optimizer state too when the file has it and
  /// the model is compiled with the same optimizer. Throws ValueError naming the layer and both
  /// shapes when a weight does not fit; IOError naming the file when it is not such a file.
  void load_weights(const std::string& filepath);
  /// The model's config, as Keras 3's model.to_json() writes it.
  std::string to_json() const;

  /// Set by a callback to end fit after the current batch/epoch (Keras' model.stop_training).
  bool stop_training = false;

  train::ModelState& state() const { return *state_; }
  /// Whether this is a Functional model (a graph of layers); false for a Sequential.
  bool is_functional() const;

  /// For Sequential and the file readers: a model around a state.
  explicit Model(std::unique_ptr<train::ModelState> state);

 protected:
  std::unique_ptr<train::ModelState> state_;

 private:
  void compile_with_loss(const Optimizer& optimizer, const std::string& loss, const std::vector<std::string>& metrics,
                         bool from_logits);
};

namespace utils {
/// Seeds every random number kerosene draws (initializers, shuffling, dropout), so two runs on
/// the same machine with the same thread settings are bit-identical (keras.utils.set_random_seed).
void set_random_seed(uint64_t seed);
}  // namespace utils

}  // namespace kerosene
