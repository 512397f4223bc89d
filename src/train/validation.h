// Checks of user data before a loop runs: shapes, label ranges, NaN/inf. Each error says what,
// where (argument, sample index) and expected against found.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kerosene/model.h"
#include "train/model_state.h"

namespace kerosene::train {

/// Returns x as a list in the order of the model's inputs, each as the model sees it (on the
/// host; a trailing dimension of 1 may be added, as Keras does for (N, 28, 28) images into
/// Input((28, 28, 1))), every one with the same number of samples.
/// Builds a Sequential without an input shape from x. Throws ValueError naming the tensor
/// (`argument`, `argument[1]`, `argument["name"]`) if one does not fit; NumericError for a NaN
/// or infinity when `require_finite` (training and evaluation data; not predict's).
std::vector<Tensor> conform_inputs(ModelState& model, const Tensors& x, const std::string& argument,
                                   bool require_finite = true);

/// Checks y against the model's outputs and losses: one tensor per output, counts equal to
/// `rows`, sparse labels integers in [0, classes), dense targets of the output's shape. Returns
/// each as its loss wants it (int32 for sparse labels, float32 otherwise), in output order.
std::vector<Tensor> conform_targets(ModelState& model, int64_t rows, const Tensors& y, const std::string& argument);

/// Keras' sample_weight: one finite weight per sample (shape (rows,) or (rows, 1)). Returns it
/// as a float32 (rows,) host tensor; ValueError naming `argument` when it does not fit.
Tensor conform_sample_weight(const Tensor& weights, int64_t rows, const std::string& argument);

/// Keras' class_weight_to_sample_weights: each sample's weight from its label in `y` (the
/// conformed targets of a model with one output: an integer label, or a one-hot row's argmax);
/// classes not in `class_weight` weigh 1. ValueError for a model with several outputs or a
/// negative class index.
Tensor class_weight_to_sample_weights(const ModelState& model, const std::map<int, float>& class_weight,
                                      const std::vector<Tensor>& y);

/// Throws RuntimeError, naming `what` (fit, evaluate, train_on_batch...), before compile.
void require_compiled(const ModelState& model, const char* what);

/// Throws NumericError naming the first NaN or infinite value (sample and position) in a float tensor.
void check_finite(const Tensor& t, const char* argument);

}  // namespace kerosene::train
