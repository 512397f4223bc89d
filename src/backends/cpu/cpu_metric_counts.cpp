// The counting metrics (MetricCountKind) on the CPU, with the rules of backends/metric_counts.h.
// Counts are whole numbers (F-beta's are sums of y_true), so float32 holds a batch's exactly
// up to 2^24; the running totals are kept in double on the host.
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/metric_counts.h"

namespace kerosene::backends::cpu {

void CpuBackend::metric_counts(const MetricCountArgs& args, const Tensor& y_pred, const Tensor& y_true,
                               Tensor& counts) {
  const int64_t rows = y_pred.dim(0), cols = rows ? y_pred.numel() / rows : 0;
  const float* pred = static_cast<const float*>(y_pred.raw_data());
  const void* truth = y_true.raw_data();
  float* out = static_cast<float*>(counts.raw_data());
  std::fill(out, out + counts.numel(), 0.0f);
  switch (args.kind) {
    case MetricCountKind::top_k_hits:
      for (int64_t r = 0; r < rows; ++r) {
        out[0] += top_k_hit(pred + r * cols, cols, row_label(args, truth, r), args.size) ? 1.0f : 0.0f;
      }
      break;
    case MetricCountKind::auc_buckets: {
      const int64_t t = args.size;
      for (int64_t i = 0; i < rows * cols; ++i) {
        const bool positive = true_value(args, truth, i) != 0.0f;
        const int64_t b = auc_bucket(pred[i], args.size, args.from_logits);
        if (b >= 0) out[(positive ? 0 : t) + b] += 1.0f;
        out[2 * t + (positive ? 0 : 1)] += 1.0f;
      }
      break;
    }
    case MetricCountKind::f_beta_counts:
      for (int64_t r = 0; r < rows; ++r) {
        const float* p = pred + r * cols;
        const float* y = static_cast<const float*>(truth) + r * cols;
        const float row_max = *std::max_element(p, p + cols);
        for (int64_t j = 0; j < cols; ++j) {
          const float predicted = f_beta_predicted(p[j], args.threshold, row_max);
          out[j] += predicted * y[j];
          out[cols + j] += predicted * (1.0f - y[j]);
          out[2 * cols + j] += (1.0f - predicted) * y[j];
          out[3 * cols + j] += y[j];
        }
      }
      break;
    case MetricCountKind::confusion_matrix: {
      const int64_t n = confusion_items(args, rows, cols);
      for (int64_t i = 0; i < n; ++i) {
        const int64_t cell = confusion_cell(args, pred, truth, cols, i);
        if (cell >= 0) out[cell] += 1.0f;
      }
      break;
    }
  }
}

}  // namespace kerosene::backends::cpu
