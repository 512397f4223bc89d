// Checks of user data before a loop runs: shapes, label ranges, NaN/inf. Each error says what,
// where (argument, sample index) and expected against found.
#pragma once

#include <string>

#include "train/model_state.h"

namespace kerosene::train {

/// Returns x as the model sees it: a trailing dimension of 1 may be added (as Keras does for
/// (N, 28, 28) images into Input((28, 28, 1))). Throws ValueError if x does not fit.
Tensor conform_input(ModelState& model, const Tensor& x, const char* argument);

/// Checks y against the model's output and loss: count equals x's, sparse labels are integers
/// in [0, classes), dense targets have the output's shape. Returns y as the loss wants it
/// (int32 for sparse labels, float32 otherwise).
Tensor conform_targets(ModelState& model, const Tensor& x, const Tensor& y, const char* argument);

/// Throws NumericError naming the first NaN or infinite value (sample and position) in a float tensor.
void check_finite(const Tensor& t, const char* argument);

}  // namespace kerosene::train
