// The counting metrics (MetricCountKind) on the GPU, with the rules of backends/metric_counts.h
// that the CPU kernel uses: counts zeroed, then one thread per row (or element) adds its share
// with atomicAdd. The counts are whole numbers below 2^24 per batch, so the order of the
// additions does not change them.
#include <cstdint>
#include <string>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"
#include "backends/metric_counts.h"

namespace kerosene::backends::cuda_impl {
namespace {

__global__ void top_k_kernel(MetricCountArgs args, const float* pred, const void* truth, int64_t rows, int64_t cols,
                             float* out) {
  for (int64_t r = global_thread(); r < rows; r += thread_count()) {
    if (top_k_hit(pred + r * cols, cols, row_label(args, truth, r), args.size)) atomicAdd(out, 1.0f);
  }
}

__global__ void auc_kernel(MetricCountArgs args, const float* pred, const void* truth, int64_t n, float* out) {
  const int64_t t = args.size;
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const bool positive = true_value(args, truth, i) != 0.0f;
    const int64_t b = auc_bucket(pred[i], args.size, args.from_logits);
    if (b >= 0) atomicAdd(out + (positive ? 0 : t) + b, 1.0f);
    atomicAdd(out + 2 * t + (positive ? 0 : 1), 1.0f);
  }
}

__global__ void f_beta_kernel(MetricCountArgs args, const float* pred, const float* truth, int64_t rows, int64_t cols,
                              float* out) {
  for (int64_t r = global_thread(); r < rows; r += thread_count()) {
    const float* p = pred + r * cols;
    const float* y = truth + r * cols;
    float row_max = p[0];
    for (int64_t j = 1; j < cols; ++j) row_max = p[j] > row_max ? p[j] : row_max;
    for (int64_t j = 0; j < cols; ++j) {
      const float predicted = f_beta_predicted(p[j], args.threshold, row_max);
      atomicAdd(out + j, predicted * y[j]);
      atomicAdd(out + cols + j, predicted * (1.0f - y[j]));
      atomicAdd(out + 2 * cols + j, (1.0f - predicted) * y[j]);
      atomicAdd(out + 3 * cols + j, y[j]);
    }
  }
}

__global__ void confusion_kernel(MetricCountArgs args, const float* pred, const void* truth, int64_t n, int64_t cols,
                                 float* out) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const int64_t cell = confusion_cell(args, pred, truth, cols, i);
    if (cell >= 0) atomicAdd(out + cell, 1.0f);
  }
}

}  // namespace

int metric_counts(int device, const MetricCountArgs* args, const float* y_pred, const void* y_true, int64_t rows,
                  int64_t cols, float* counts) {
  if (static_cast<int>(args->kind) > static_cast<int>(kLastMetricCountKind)) {
    return fail(cuda_abi::kError, "metric_counts: unknown kind " + std::to_string(static_cast<int>(args->kind)));
  }
  if (rows > 0 && cols <= 0) return fail(cuda_abi::kError, "metric_counts: predictions have no columns");
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const int64_t size = metric_count_size(*args, cols);
  KEROSENE_TRY(check(cudaMemsetAsync(counts, 0, static_cast<size_t>(size) * sizeof(float), s->stream),
                     "cudaMemsetAsync"));
  if (rows <= 0) return cuda_abi::kOk;
  switch (args->kind) {
    case MetricCountKind::top_k_hits:
      top_k_kernel<<<blocks_for(rows), kBlock, 0, s->stream>>>(*args, y_pred, y_true, rows, cols, counts);
      break;
    case MetricCountKind::auc_buckets:
      auc_kernel<<<blocks_for(rows * cols), kBlock, 0, s->stream>>>(*args, y_pred, y_true, rows * cols, counts);
      break;
    case MetricCountKind::f_beta_counts:
      f_beta_kernel<<<blocks_for(rows), kBlock, 0, s->stream>>>(*args, y_pred, static_cast<const float*>(y_true), rows,
                                                                cols, counts);
      break;
    case MetricCountKind::confusion_matrix: {
      const int64_t n = confusion_items(*args, rows, cols);
      confusion_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(*args, y_pred, y_true, n, cols, counts);
      break;
    }
  }
  return check_launch("metric_counts");
}

}  // namespace kerosene::backends::cuda_impl
