// The counting metrics' per-row and per-element rules (MetricCountKind), shared by the CPU and
// CUDA kernels so both count the same way. Each follows Keras 3's update_state:
// top-k from ops.in_top_k, AUC from metrics_utils._update_confusion_matrix_variables_optimized,
// F-beta from FBetaScore.update_state, the confusion matrix from IoU.update_state.
#pragma once

#include <cmath>
#include <cstdint>

#include "backends/kernel_params.h"
#include "math/host_device.h"

namespace kerosene::backends {

/// How many counts a metric of `args` keeps for predictions of `cols` values per row.
KEROSENE_HD int64_t metric_count_size(const MetricCountArgs& args, int64_t cols) {
  switch (args.kind) {
    case MetricCountKind::top_k_hits: return 1;
    case MetricCountKind::auc_buckets: return 2 * static_cast<int64_t>(args.size) + 2;
    case MetricCountKind::f_beta_counts: return 4 * cols;
    case MetricCountKind::confusion_matrix: return static_cast<int64_t>(args.size) * args.size;
  }
  return 0;
}

/// y_true's element i as a float (int32 labels or float32 values).
KEROSENE_HD float true_value(const MetricCountArgs& args, const void* y_true, int64_t i) {
  return args.y_true_int32 ? static_cast<float>(static_cast<const int32_t*>(y_true)[i])
                           : static_cast<const float*>(y_true)[i];
}

/// The first largest value's index, as ops.argmax.
KEROSENE_HD int64_t first_argmax(const float* row, int64_t cols) {
  int64_t best = 0;
  for (int64_t j = 1; j < cols; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

/// Row r's label: its class id (sparse y_true) or the argmax of its one-hot row.
KEROSENE_HD int64_t row_label(const MetricCountArgs& args, const void* y_true, int64_t r) {
  if (!args.sparse_y_true) return first_argmax(static_cast<const float*>(y_true) + r * args.true_cols, args.true_cols);
  return static_cast<int64_t>(true_value(args, y_true, r * args.true_cols));
}

/// in_top_k: the label's prediction has fewer than k predictions above it (NaN counts as -inf;
/// a label outside the row is a miss).
KEROSENE_HD bool top_k_hit(const float* row, int64_t cols, int64_t label, int32_t k) {
  if (label < 0 || label >= cols) return false;
  float at = row[label];
  if (at != at) at = -INFINITY;
  int64_t above = 0;
  for (int64_t j = 0; j < cols; ++j) above += row[j] > at ? 1 : 0;
  return above < k;
}

/// The AUC bucket of prediction p among num_thresholds: ceil(p (T - 1)) - 1, at least 0 (the
/// first threshold is -epsilon); -1 when past the last (segment_sum drops it) or NaN.
KEROSENE_HD int64_t auc_bucket(float p, int32_t num_thresholds, bool from_logits) {
  if (from_logits) p = 1.0f / (1.0f + expf(-p));
  const float b = ceilf(p * static_cast<float>(num_thresholds - 1)) - 1.0f;
  if (!(b < static_cast<float>(num_thresholds))) return -1;
  return b < 0.0f ? 0 : static_cast<int64_t>(b);
}

/// F-beta's prediction: above the threshold, or (threshold NaN, Keras' None) equal to the row's
/// maximum and not zero.
KEROSENE_HD float f_beta_predicted(float p, float threshold, float row_max) {
  if (threshold != threshold) return (p >= row_max && fabsf(p) > 1e-9f) ? 1.0f : 0.0f;
  return p > threshold ? 1.0f : 0.0f;
}

/// A sparse value's class id as IoU takes it: within [0, classes) as a float, then truncated;
/// -1 outside.
KEROSENE_HD int64_t class_id(float v, int32_t classes) {
  if (!(v >= 0.0f && v < static_cast<float>(classes))) return -1;
  return static_cast<int64_t>(v);
}

/// Confusion-matrix item i: how many items there are (ids of y_pred), and item i's cell
/// (-1 when it is out of range or the ignored class).
KEROSENE_HD int64_t confusion_items(const MetricCountArgs& args, int64_t rows, int64_t cols) {
  return args.sparse_y_pred ? rows * cols : rows;
}
KEROSENE_HD int64_t confusion_cell(const MetricCountArgs& args, const float* y_pred, const void* y_true, int64_t cols,
                                   int64_t i) {
  const int32_t c = args.size;
  const float t = args.sparse_y_true ? true_value(args, y_true, i)
                                     : static_cast<float>(row_label(args, y_true, i));
  const float p = args.sparse_y_pred ? y_pred[i] : static_cast<float>(first_argmax(y_pred + i * cols, cols));
  const int64_t ti = class_id(t, c), pi = class_id(p, c);
  if (ti < 0 || pi < 0 || ti == args.ignore_class) return -1;
  return ti * c + pi;
}

}  // namespace kerosene::backends
