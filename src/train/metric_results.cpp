// Metric values from their running sums, and the counting metrics' step (top-k, AUC, F-beta,
// IoU): Keras 3's result() formulas (keras/src/metrics), computed in double from sums that are
// exact counts (float32 per batch, exact to 2^24; double across batches).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "backends/metric_counts.h"
#include "kerosene/error.h"
#include "ops/ops.h"
#include "train/model_state.h"

namespace kerosene::train {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras' backend.epsilon()

double divide_no_nan(double a, double b) { return b == 0.0 ? 0.0 : a / b; }

// AUC (keras/src/metrics/confusion_metrics.py): sums hold the positives and the negatives of
// each threshold bucket, then the totals; TP at threshold i counts the positives in buckets >= i.
double auc(const MetricParams& p, const double* sums) {
  const int t = p.num_thresholds;
  std::vector<double> tp(static_cast<size_t>(t)), fp(tp.size()), fn(tp.size()), tn(tp.size());
  double above_pos = 0, above_neg = 0;
  for (int i = t - 1; i >= 0; --i) {
    above_pos += sums[i];
    above_neg += sums[t + i];
    tp[static_cast<size_t>(i)] = above_pos;
    fp[static_cast<size_t>(i)] = above_neg;
  }
  for (size_t i = 0; i < tp.size(); ++i) {
    fn[i] = sums[2 * t] - tp[i];
    tn[i] = sums[2 * t + 1] - fp[i];
  }
  double total = 0;
  if (p.curve == "PR" && p.summation_method == "interpolation") {  // interpolate_pr_auc
    for (size_t i = 0; i + 1 < tp.size(); ++i) {
      const double dtp = tp[i] - tp[i + 1];
      const double p_a = tp[i] + fp[i], p_b = tp[i + 1] + fp[i + 1];
      const double slope = divide_no_nan(dtp, std::max(p_a - p_b, 0.0));
      const double intercept = tp[i + 1] - slope * p_b;
      const double ratio = p_a > 0 && p_b > 0 ? divide_no_nan(p_a, std::max(p_b, 0.0)) : 1.0;
      total += divide_no_nan(slope * (dtp + intercept * std::log(ratio)), std::max(tp[i + 1] + fn[i + 1], 0.0));
    }
    return total;
  }
  auto x = [&](size_t i) {
    return p.curve == "ROC" ? divide_no_nan(fp[i], fp[i] + tn[i]) : divide_no_nan(tp[i], tp[i] + fn[i]);
  };
  auto y = [&](size_t i) {
    return p.curve == "ROC" ? divide_no_nan(tp[i], tp[i] + fn[i]) : divide_no_nan(tp[i], tp[i] + fp[i]);
  };
  for (size_t i = 0; i + 1 < tp.size(); ++i) {
    const double a = y(i), b = y(i + 1);
    const double height = p.summation_method == "interpolation" ? (a + b) / 2
                          : p.summation_method == "minoring"    ? std::min(a, b)
                                                                : std::max(a, b);
    total += (x(i) - x(i + 1)) * height;
  }
  return total;
}

// FBetaScore.result: sums hold each class's TP, FP, FN and label sum (4 x classes).
double f_beta(const MetricParams& p, const double* sums, int64_t classes) {
  const double b2 = static_cast<double>(p.beta) * p.beta;
  auto score = [&](double tp, double fp, double fn) {
    const double precision = tp / (tp + fp + kEpsilon), recall = tp / (tp + fn + kEpsilon);
    return precision * recall / (b2 * precision + recall + kEpsilon) * (1 + b2);
  };
  if (p.average == "micro") {  // axis=None: the counts summed over the classes
    double tp = 0, fp = 0, fn = 0;
    for (int64_t c = 0; c < classes; ++c) tp += sums[c], fp += sums[classes + c], fn += sums[2 * classes + c];
    return score(tp, fp, fn);
  }
  double weights = 0;
  for (int64_t c = 0; c < classes; ++c) weights += sums[3 * classes + c];
  double total = 0;
  for (int64_t c = 0; c < classes; ++c) {
    const double f = score(sums[c], sums[classes + c], sums[2 * classes + c]);
    total += p.average == "weighted" ? f * sums[3 * classes + c] / (weights + kEpsilon) : f;
  }
  return p.average == "weighted" ? total : total / static_cast<double>(std::max<int64_t>(classes, 1));
}

// IoU.result: sums hold the confusion matrix [true][predicted]; classes nobody has are left out.
double iou(const MetricParams& p, const double* cm) {
  const int c = p.num_classes;
  std::vector<int> targets = p.target_class_ids;
  if (targets.empty()) {
    for (int i = 0; i < c; ++i) targets.push_back(i);
  }
  double total = 0, valid = 0;
  for (int k : targets) {
    double predicted = 0, actual = 0;
    for (int i = 0; i < c; ++i) predicted += cm[i * c + k], actual += cm[k * c + i];
    const double tp = cm[k * c + k], denominator = predicted + actual - tp;
    if (denominator > 1e-9) {
      valid += 1;
      total += tp / (denominator + kEpsilon);
    }
  }
  return total / (valid + kEpsilon);
}

std::string shape_text(const Tensor& t) { return t.shape().to_string(); }

}  // namespace

double MetricConfig::value(const double* sums, int64_t samples) const {
  switch (result) {
    case MetricResult::ratio: return sums[1] == 0.0 ? 0.0 : sums[0] / sums[1];
    case MetricResult::auc: return auc(params, sums);
    case MetricResult::f_beta: return f_beta(params, sums, count_size / 4);
    case MetricResult::iou: return iou(params, sums);
    case MetricResult::mean:
    case MetricResult::root_mean: break;
  }
  const double count = weighted ? sums[slots.size()] : static_cast<double>(std::max<int64_t>(samples, 1));
  const double mean = count == 0.0 ? 0.0 : sums[0] / count;
  return result == MetricResult::root_mean ? std::sqrt(mean) : mean;
}

void ModelState::size_metric_counts() {
  if (!built()) return;
  const std::vector<Shape> shapes = output_shapes();
  for (auto& m : metrics) {
    if (!m.counts) continue;
    const int64_t cols = shapes.at(static_cast<size_t>(m.output)).numel();
    m.count_size = backends::metric_count_size(*m.counts, cols);
  }
}

void ModelState::queue_metric_counts(const MetricConfig& m, const Tensor& prediction, const Tensor& target,
                                     Tensor& slot) {
  backends::MetricCountArgs args = *m.counts;
  const int64_t rows = prediction.dim(0), cols = prediction.dim(1);
  const int64_t given = target.numel();
  args.y_true_int32 = target.dtype() == DType::int32;
  args.true_cols = static_cast<int32_t>(rows > 0 ? given / rows : 1);
  auto refuse = [&](const std::string& expected) {
    throw ValueError("metric \"" + m.log_name + "\" of model \"" + name + "\": expected " + expected +
                     " for predictions of shape " + shape_text(prediction) + ", found targets of shape " +
                     shape_text(target) + (args.y_true_int32 ? " (int32 labels)" : ""));
  };
  using backends::MetricCountKind;
  const bool one_hot_targets = m.counts->kind == MetricCountKind::f_beta_counts ||
                               (m.counts->kind == MetricCountKind::top_k_hits && !args.sparse_y_true) ||
                               (m.counts->kind == MetricCountKind::confusion_matrix && !args.sparse_y_true);
  if (one_hot_targets && args.y_true_int32) refuse("float targets (one-hot rows), not class ids");
  switch (m.counts->kind) {
    case MetricCountKind::top_k_hits:
      if (args.sparse_y_true ? given != rows : given != rows * cols) {
        refuse(args.sparse_y_true ? "one class id per row" : "one-hot targets shaped like the predictions");
      }
      break;
    case MetricCountKind::auc_buckets:
    case MetricCountKind::f_beta_counts:
      if (given != rows * cols) refuse("targets shaped like the predictions");
      break;
    case MetricCountKind::confusion_matrix: {
      const int64_t items = backends::confusion_items(args, rows, cols);
      if (args.sparse_y_true ? given != items : items != rows) {
        refuse(std::string("as many ") + (args.sparse_y_true ? "class ids" : "one-hot rows") + " as " +
               (args.sparse_y_pred ? "predicted class ids (" : "prediction rows (") + std::to_string(items) + ")");
      }
      break;
    }
  }
  ops::backend_of("metric counts", prediction).metric_counts(args, prediction, target, slot);
}

}  // namespace kerosene::train
