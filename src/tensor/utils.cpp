// kerosene::utils::to_categorical and argmax: host-side helpers around fit and predict.
#include "kerosene/utils.h"

#include <cmath>
#include <vector>

namespace kerosene::utils {

Tensor to_categorical(const Tensor& y, int64_t num_classes) {
  std::vector<double> labels = y.to_vector<double>();
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || std::floor(labels[i]) != labels[i]) {
      throw ValueError("to_categorical: y[" + std::to_string(i) + "] = " + std::to_string(labels[i]) +
                       " is not a class label: expected integers >= 0");
    }
  }
  if (num_classes < 0) {
    double largest = -1;
    for (double v : labels) largest = std::max(largest, v);
    num_classes = static_cast<int64_t>(largest) + 1;
  }
  std::vector<int64_t> dims;
  for (int i = 0; i < y.shape().rank(); ++i) dims.push_back(y.dim(i));
  // Keras drops a trailing dimension of 1: labels of shape (N, 1) give (N, classes).
  if (!dims.empty() && dims.back() == 1) dims.pop_back();
  dims.push_back(num_classes);
  std::vector<float> one_hot(labels.size() * static_cast<size_t>(num_classes), 0.0f);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= static_cast<double>(num_classes)) {
      throw ValueError("to_categorical: y[" + std::to_string(i) + "] = " + std::to_string(static_cast<int64_t>(labels[i])) +
                       ", expected a label below num_classes = " + std::to_string(num_classes));
    }
    one_hot[i * static_cast<size_t>(num_classes) + static_cast<size_t>(labels[i])] = 1.0f;
  }
  return Tensor::from_vector(one_hot, Shape(dims));
}

Tensor argmax(const Tensor& x, int axis) {
  const int rank = x.shape().rank();
  if (axis < -rank || axis >= rank) {
    throw ValueError("argmax: axis " + std::to_string(axis) + " is out of range for a tensor of shape " +
                     x.shape().to_string());
  }
  if (axis < 0) axis += rank;
  const int64_t length = x.dim(axis);
  if (length == 0) throw ValueError("argmax: dimension " + std::to_string(axis) + " of " + x.shape().to_string() + " is empty");
  int64_t outer = 1, inner = 1;
  std::vector<int64_t> dims;
  for (int i = 0; i < rank; ++i) {
    if (i < axis) outer *= x.dim(i);
    if (i > axis) inner *= x.dim(i);
    if (i != axis) dims.push_back(x.dim(i));
  }
  const std::vector<double> values = x.to_vector<double>();
  std::vector<int64_t> result(static_cast<size_t>(outer * inner));
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      int64_t best = 0;
      double best_value = values[static_cast<size_t>(o * length * inner + in)];
      for (int64_t k = 1; k < length; ++k) {
        const double v = values[static_cast<size_t>((o * length + k) * inner + in)];
        // NaN wins, as in NumPy: a prediction with NaN in it should not look like a class.
        if (v > best_value || (std::isnan(v) && !std::isnan(best_value))) {
          best = k;
          best_value = v;
        }
      }
      result[static_cast<size_t>(o * inner + in)] = best;
    }
  }
  return Tensor::from_vector(result, Shape(dims));
}

}  // namespace kerosene::utils
