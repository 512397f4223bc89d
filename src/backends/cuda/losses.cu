// Losses and metrics: one warp per row of predictions, with the formulas and clipping of
// cpu_losses.cpp and math/losses.h (Keras' conventions). sample_loss gets one value per row;
// dy_pred, when given, d(loss)/d(y_pred) times args.grad_scale.
#include <cstdint>
#include <string>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"
#include "backends/loss_terms.h"
#include "math/activations.h"
#include "math/losses.h"

namespace kerosene::backends::cuda_impl {
namespace {

__device__ __forceinline__ bool clipped(float q) { return q < math::kLossEpsilon || q > 1.0f - math::kLossEpsilon; }

// Softmax cross-entropy from logits z: loss = T * logsumexp(z) - sum(t z), d/dz = T softmax(z) - t,
// T = sum(t); a sparse label is a one-hot t (an out-of-range label gives NaN).
__device__ void crossentropy_logits_row(const float* z, int64_t cols, bool sparse, int32_t label, const float* target,
                                        Smoothing sm, float scale, float* out, float* g) {
  auto t = [&](int64_t j) { return target[j] * sm.keep + sm.add; };
  float m = -INFINITY;
  for (int64_t j = lane(); j < cols; j += kWarp) m = fmaxf(m, z[j]);
  m = warp_max(m);
  float s = 0.0f, total = 0.0f, dot = 0.0f;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    s += expf(z[j] - m);
    if (!sparse) total += t(j), dot += t(j) * z[j];
  }
  s = warp_sum(s);
  const float lse = m + logf(s), inv = 1.0f / s;
  const bool valid = label >= 0 && label < cols;
  if (sparse) {
    if (lane() == 0) *out = valid ? lse - z[label] : NAN;
  } else {
    total = warp_sum(total);
    dot = warp_sum(dot);
    if (lane() == 0) *out = total * lse - dot;
  }
  if (!g) return;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    const float prob = expf(z[j] - m) * inv;
    g[j] = sparse ? prob * scale - (j == label ? scale : 0.0f) : (total * prob - t(j)) * scale;
  }
}

// Probabilities and a class id: loss = log(sum_j clip(p_j)) - log(clip(p_y)); clipped entries
// pass no gradient.
__device__ void sparse_probabilities_row(const float* p, int64_t cols, int32_t label, float scale, float* out,
                                         float* g) {
  float total = 0.0f;
  for (int64_t j = lane(); j < cols; j += kWarp) total += math::clip_probability(p[j]);
  total = warp_sum(total);
  const bool valid = label >= 0 && label < cols;
  if (lane() == 0) *out = valid ? logf(total) - logf(math::clip_probability(p[label])) : NAN;
  if (!g) return;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    g[j] = clipped(p[j]) ? 0.0f : ((j == label ? -1.0f / p[j] : 0.0f) + 1.0f / total) * scale;
  }
}

// Probabilities normalized by their sum s, clipped (q): loss = -sum(t log q); d/dp_k =
// -t_k / p_k (k not clipped) + sum(t_j, j not clipped) / s.
__device__ void categorical_probabilities_row(const float* p, const float* target, Smoothing sm, int64_t cols,
                                              float scale, float* out, float* g) {
  auto t = [&](int64_t j) { return target[j] * sm.keep + sm.add; };
  float s = 0.0f;
  for (int64_t j = lane(); j < cols; j += kWarp) s += p[j];
  s = warp_sum(s);
  float value = 0.0f, unclipped_total = 0.0f;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    const float q = p[j] / s;
    if (t(j) != 0.0f) value += t(j) * logf(math::clip_probability(q));
    if (!clipped(q)) unclipped_total += t(j);
  }
  value = warp_sum(value);
  unclipped_total = warp_sum(unclipped_total);
  if (lane() == 0) *out = -value;
  if (!g) return;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    const bool c = clipped(p[j] / s);
    g[j] = ((t(j) != 0.0f && !c ? -t(j) / p[j] : 0.0f) + unclipped_total / s) * scale;
  }
}

// Binary cross-entropy and the per-element losses of loss_terms.h: terms averaged over the row
// (summed for kl_divergence).
__device__ void mean_of_terms_row(const LossArgs& args, Smoothing sm, const float* p, const float* target,
                                  int64_t cols, float* out, float* g) {
  const float inv = sums_terms(args.kind) ? 1.0f : 1.0f / static_cast<float>(cols);
  const float scale = args.grad_scale;
  float value = 0.0f;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    const float t = target[j] * sm.keep + sm.add;
    if (args.kind != LossKind::binary_crossentropy) {
      const LossTerm term = loss_term(args.kind, p[j], t, args.delta);
      value += term.value;
      if (g) g[j] = term.grad * inv * scale;
    } else if (args.from_logits) {
      value += math::binary_crossentropy_logits(p[j], t);
      if (g) g[j] = (math::sigmoid(p[j]) - t) * inv * scale;
    } else {
      value += math::binary_crossentropy(p[j], t);
      if (g) g[j] = math::binary_crossentropy_grad(p[j], t) * inv * scale;
    }
  }
  value = warp_sum(value);
  if (lane() == 0) *out = value * inv;
}

// -sum(t/|t| * p/|p|); d/dp = -(t^ s - (t^ . p) p s^3) with s = 1/|p| (constant where capped).
__device__ void cosine_similarity_row(const float* p, const float* t, int64_t cols, float scale, float* out, float* g) {
  float tt = 0.0f, pp = 0.0f, tp = 0.0f;
  for (int64_t j = lane(); j < cols; j += kWarp) tt += t[j] * t[j], pp += p[j] * p[j], tp += t[j] * p[j];
  tt = warp_sum(tt);
  pp = warp_sum(pp);
  tp = warp_sum(tp);
  const float it = inverse_norm(tt), ip = inverse_norm(pp);
  const bool capped = ip >= 1.0f / math::kLossEpsilon;
  const float dot = tp * it;
  if (lane() == 0) *out = -dot * ip;
  if (!g) return;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    const float th = t[j] * it;
    g[j] = -(capped ? th * ip : th * ip - dot * p[j] * ip * ip * ip) * scale;
  }
}

__global__ void loss_kernel(LossArgs args, const float* pred, const int32_t* labels, const float* target,
                            int64_t rows, int64_t cols, float* sample_loss, float* grad) {
  for (int64_t r = global_warp(); r < rows; r += warp_count()) {
    const float* p = pred + r * cols;
    const float* t = target ? target + r * cols : nullptr;
    float* g = grad ? grad + r * cols : nullptr;
    const int32_t label = labels ? labels[r] : -1;
    const Smoothing sm = smoothing_for(args, cols);
    switch (args.kind) {
      case LossKind::sparse_categorical_crossentropy:
      case LossKind::categorical_crossentropy:
        if (args.from_logits) {
          crossentropy_logits_row(p, cols, labels != nullptr, label, t, sm, args.grad_scale, sample_loss + r, g);
        } else if (labels) {
          sparse_probabilities_row(p, cols, label, args.grad_scale, sample_loss + r, g);
        } else {
          categorical_probabilities_row(p, t, sm, cols, args.grad_scale, sample_loss + r, g);
        }
        break;
      case LossKind::cosine_similarity:
        cosine_similarity_row(p, t, cols, args.grad_scale, sample_loss + r, g);
        break;
      default:  // binary cross-entropy and the per-element losses
        mean_of_terms_row(args, sm, p, t, cols, sample_loss + r, g);
        break;
    }
  }
}

// The first index of the row's maximum, as the CPU's sequential scan finds it: NaN never wins
// (a NaN at index 0 keeps index 0). The comparison is a total order, so the butterfly gives
// every lane the same answer.
__device__ int64_t warp_argmax(const float* row, int64_t cols) {
  float best = 0.0f;
  int64_t index = -1;
  for (int64_t j = lane(); j < cols; j += kWarp) {
    const float v = row[j];
    if (!isnan(v) && (index < 0 || v > best)) best = v, index = j;
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, best, offset);
    const int64_t other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (other_index >= 0 && (index < 0 || other > best || (other == best && other_index < index))) {
      best = other, index = other_index;
    }
  }
  return (index < 0 || isnan(row[0])) ? 0 : index;
}

__global__ void metric_kernel(MetricKind kind, const float* pred, const int32_t* labels, const float* target,
                              int64_t rows, int64_t cols, float* correct) {
  for (int64_t r = global_warp(); r < rows; r += warp_count()) {
    const float* p = pred + r * cols;
    const float* t = target ? target + r * cols : nullptr;
    float value = 0.0f;
    if (kind == MetricKind::sparse_categorical_accuracy) {
      value = warp_argmax(p, cols) == labels[r] ? 1.0f : 0.0f;
    } else if (kind == MetricKind::categorical_accuracy) {
      value = warp_argmax(p, cols) == warp_argmax(t, cols) ? 1.0f : 0.0f;
    } else if (kind == MetricKind::true_positives || kind == MetricKind::predicted_positives ||
               kind == MetricKind::actual_positives) {
      float count = 0.0f;  // whole numbers: exact in any order
      for (int64_t j = lane(); j < cols; j += kWarp) {
        const bool predicted = p[j] > 0.5f, actual = t[j] != 0.0f;
        const bool hit = kind == MetricKind::true_positives ? predicted && actual
                         : kind == MetricKind::predicted_positives ? predicted : actual;
        count += hit ? 1.0f : 0.0f;
      }
      value = warp_sum(count);
    } else if (kind == MetricKind::mean_absolute_error || kind == MetricKind::mean_squared_error) {
      float sum = 0.0f;
      for (int64_t j = lane(); j < cols; j += kWarp) {
        const float d = p[j] - t[j];
        sum += kind == MetricKind::mean_absolute_error ? fabsf(d) : d * d;
      }
      value = warp_sum(sum) / static_cast<float>(cols);
    } else {
      float hits = 0.0f;  // whole numbers: exact in any order
      for (int64_t j = lane(); j < cols; j += kWarp) hits += ((p[j] > 0.5f) == (t[j] > 0.5f)) ? 1.0f : 0.0f;
      value = warp_sum(hits) / static_cast<float>(cols);
    }
    if (lane() == 0) correct[r] = value;
  }
}

}  // namespace

int loss(int device, const LossArgs* args, const float* y_pred, const void* y_true, int64_t rows, int64_t cols,
         float* sample_loss, float* dy_pred) {
  if (rows <= 0) return cuda_abi::kOk;
  if (cols <= 0) return fail(cuda_abi::kError, "loss: predictions have no columns");
  if (args->label_smoothing != 0.0f && args->kind != LossKind::categorical_crossentropy &&
      args->kind != LossKind::binary_crossentropy) {
    return fail(cuda_abi::kError, "loss: label_smoothing applies to categorical and binary cross-entropy only");
  }
  if (static_cast<int>(args->kind) > static_cast<int>(kLastLossKind)) {
    return fail(cuda_abi::kError, "loss: unknown kind " + std::to_string(static_cast<int>(args->kind)));
  }
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const bool sparse = args->kind == LossKind::sparse_categorical_crossentropy;
  const auto* labels = sparse ? static_cast<const int32_t*>(y_true) : nullptr;
  const auto* target = sparse ? nullptr : static_cast<const float*>(y_true);
  loss_kernel<<<row_blocks(rows), kBlock, 0, s->stream>>>(*args, y_pred, labels, target, rows, cols, sample_loss,
                                                          dy_pred);
  return check_launch("loss");
}

int metric(int device, MetricKind kind, const float* y_pred, const void* y_true, int64_t rows, int64_t cols,
           float* correct) {
  if (rows <= 0) return cuda_abi::kOk;
  if (cols <= 0) return fail(cuda_abi::kError, "metric: predictions have no columns");
  if (static_cast<int>(kind) > static_cast<int>(kLastMetricKind)) {
    return fail(cuda_abi::kError, "metric: unknown kind " + std::to_string(static_cast<int>(kind)));
  }
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  const bool sparse = kind == MetricKind::sparse_categorical_accuracy;
  const auto* labels = sparse ? static_cast<const int32_t*>(y_true) : nullptr;
  const auto* target = sparse ? nullptr : static_cast<const float*>(y_true);
  metric_kernel<<<row_blocks(rows), kBlock, 0, s->stream>>>(kind, y_pred, labels, target, rows, cols, correct);
  return check_launch("metric");
}

}  // namespace kerosene::backends::cuda_impl
