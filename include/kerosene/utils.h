// Small helpers around fit and predict, with Keras' and NumPy's names.
#pragma once

#include "kerosene/tensor.h"

namespace kerosene::utils {

/// One-hot encodes integer class labels (keras.utils.to_categorical): a float32 tensor of
/// shape y.shape + (num_classes,). `num_classes` -1 takes the largest label + 1.
/// Throws ValueError if a label is negative or not below num_classes, or y is float with a
/// fractional value.
Tensor to_categorical(const Tensor& y, int64_t num_classes = -1);

/// The index of the largest value along `axis` (negative counts from the end), as
/// np.argmax(x, axis): an int64 tensor with that dimension removed; the first index wins ties.
/// Throws ValueError if the axis is out of range or that dimension is empty.
Tensor argmax(const Tensor& x, int axis = -1);

}  // namespace kerosene::utils
