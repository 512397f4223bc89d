// Losses and metrics over a batch: one row of y_pred per sample.
#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/loss_terms.h"
#include "math/activations.h"
#include "math/losses.h"

namespace kerosene::backends::cpu {
namespace {

int64_t argmax(const float* row, int64_t n) {
  int64_t best = 0;
  for (int64_t j = 1; j < n; ++j) {
    if (row[j] > row[best]) best = j;
  }
  return best;
}

}  // namespace

void CpuBackend::loss(const LossArgs& args, const Tensor& y_pred, const Tensor& y_true,
                      Tensor& sample_loss, Tensor* dy_pred) {
  const int64_t rows = y_pred.dim(0), cols = y_pred.numel() / rows;
  const float* pred = static_cast<const float*>(y_pred.raw_data());
  float* out = static_cast<float*>(sample_loss.raw_data());
  float* grad = dy_pred ? static_cast<float*>(dy_pred->raw_data()) : nullptr;
  const float scale = args.grad_scale;
  const bool sparse = args.kind == LossKind::sparse_categorical_crossentropy;
  const int32_t* labels = sparse ? static_cast<const int32_t*>(y_true.raw_data()) : nullptr;
  const float* target = sparse ? nullptr : static_cast<const float*>(y_true.raw_data());
  std::vector<float> probs_buffer(grad ? 0 : cols);  // softmax when no gradient is wanted
  const Smoothing smoothing = smoothing_for(args, cols);
  const bool smooth = !sparse && args.label_smoothing != 0.0f;
  std::vector<float> smoothed(smooth ? cols : 0);

  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    const float* t = target ? target + r * cols : nullptr;
    if (smooth) {
      for (int64_t j = 0; j < cols; ++j) smoothed[j] = t[j] * smoothing.keep + smoothing.add;
      t = smoothed.data();
    }
    float* g = grad ? grad + r * cols : nullptr;
    switch (args.kind) {
      case LossKind::sparse_categorical_crossentropy:
      case LossKind::categorical_crossentropy: {
        if (args.from_logits) {
          // loss = T * logsumexp(z) - sum(t z); d/dz = T * softmax(z) - t, with T = sum(t).
          float* probs = g ? g : probs_buffer.data();
          const float lse = math::softmax_row(p, cols, probs);
          if (sparse) {
            const int32_t y = labels[r];
            out[r] = lse - p[y];
            if (g) {
              for (int64_t j = 0; j < cols; ++j) g[j] = probs[j] * scale;
              g[y] -= scale;
            }
          } else {
            float total = 0, dot = 0;
            for (int64_t j = 0; j < cols; ++j) total += t[j], dot += t[j] * p[j];
            out[r] = total * lse - dot;
            if (g) {
              for (int64_t j = 0; j < cols; ++j) g[j] = (total * probs[j] - t[j]) * scale;
            }
          }
        } else if (sparse) {
          // Keras clips the probabilities to [eps, 1 - eps] and takes the softmax cross-entropy
          // of their logs: loss = log(sum_j clip(p_j)) - log(clip(p_y)). Clipped entries pass
          // no gradient.
          const int32_t y = labels[r];
          float total = 0;
          for (int64_t j = 0; j < cols; ++j) total += math::clip_probability(p[j]);
          out[r] = std::log(total) - std::log(math::clip_probability(p[y]));
          if (g) {
            for (int64_t j = 0; j < cols; ++j) {
              const bool clipped = p[j] < math::kLossEpsilon || p[j] > 1.0f - math::kLossEpsilon;
              g[j] = clipped ? 0.0f : ((j == y ? -1.0f / p[j] : 0.0f) + 1.0f / total) * scale;
            }
          }
        } else {
          // Keras divides the probabilities by their sum s, clips them (q) to [eps, 1 - eps] and
          // takes -sum(t log q). Clipped entries pass no gradient, neither directly nor through s:
          // d/dp_k = -t_k / p_k (k not clipped) + sum(t_j, j not clipped) / s.
          float s = 0;
          for (int64_t j = 0; j < cols; ++j) s += p[j];
          float value = 0, unclipped_total = 0;
          for (int64_t j = 0; j < cols; ++j) {
            const float q = p[j] / s;
            if (t[j] != 0.0f) value -= t[j] * std::log(math::clip_probability(q));
            if (!(q < math::kLossEpsilon || q > 1.0f - math::kLossEpsilon)) unclipped_total += t[j];
          }
          out[r] = value;
          if (g) {
            for (int64_t j = 0; j < cols; ++j) {
              const float q = p[j] / s;
              const bool clipped = q < math::kLossEpsilon || q > 1.0f - math::kLossEpsilon;
              g[j] = ((t[j] != 0.0f && !clipped ? -t[j] / p[j] : 0.0f) + unclipped_total / s) * scale;
            }
          }
        }
        break;
      }
      case LossKind::binary_crossentropy: {
        float value = 0;
        const float inv = 1.0f / static_cast<float>(cols);
        for (int64_t j = 0; j < cols; ++j) {
          if (args.from_logits) {
            value += math::binary_crossentropy_logits(p[j], t[j]);
            if (g) g[j] = (math::sigmoid(p[j]) - t[j]) * inv * scale;
          } else {
            value += math::binary_crossentropy(p[j], t[j]);
            if (g) g[j] = math::binary_crossentropy_grad(p[j], t[j]) * inv * scale;
          }
        }
        out[r] = value * inv;
        break;
      }
      case LossKind::cosine_similarity: {
        // -sum(t/|t| * p/|p|); d/dp = -(t^ s - (t^ . p) p s^3) with s = 1/|p| (constant where capped).
        float tt = 0, pp = 0, tp = 0;
        for (int64_t j = 0; j < cols; ++j) tt += t[j] * t[j], pp += p[j] * p[j], tp += t[j] * p[j];
        const float it = inverse_norm(tt), ip = inverse_norm(pp);
        const bool capped = ip >= 1.0f / math::kLossEpsilon;
        const float dot = tp * it;  // t^ . p
        out[r] = -dot * ip;
        if (g) {
          for (int64_t j = 0; j < cols; ++j) {
            const float th = t[j] * it;
            g[j] = -(capped ? th * ip : th * ip - dot * p[j] * ip * ip * ip) * scale;
          }
        }
        break;
      }
      default: {  // the per-element losses of loss_terms.h
        float value = 0;
        const float inv = sums_terms(args.kind) ? 1.0f : 1.0f / static_cast<float>(cols);
        for (int64_t j = 0; j < cols; ++j) {
          const LossTerm term = loss_term(args.kind, p[j], t[j], args.delta);
          value += term.value;
          if (g) g[j] = term.grad * inv * scale;
        }
        out[r] = value * inv;
        break;
      }
    }
  }
}

void CpuBackend::metric(MetricKind kind, const Tensor& y_pred, const Tensor& y_true, Tensor& correct) {
  const int64_t rows = y_pred.dim(0), cols = y_pred.numel() / rows;
  const float* pred = static_cast<const float*>(y_pred.raw_data());
  float* out = static_cast<float*>(correct.raw_data());
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = pred + r * cols;
    switch (kind) {
      case MetricKind::sparse_categorical_accuracy:
        out[r] = argmax(p, cols) == static_cast<const int32_t*>(y_true.raw_data())[r] ? 1.0f : 0.0f;
        break;
      case MetricKind::categorical_accuracy: {
        const float* t = static_cast<const float*>(y_true.raw_data()) + r * cols;
        out[r] = argmax(p, cols) == argmax(t, cols) ? 1.0f : 0.0f;
        break;
      }
      case MetricKind::binary_accuracy: {
        const float* t = static_cast<const float*>(y_true.raw_data()) + r * cols;
        float hits = 0;
        for (int64_t j = 0; j < cols; ++j) hits += ((p[j] > 0.5f) == (t[j] > 0.5f)) ? 1.0f : 0.0f;
        out[r] = hits / static_cast<float>(cols);
        break;
      }
      case MetricKind::true_positives:
      case MetricKind::predicted_positives:
      case MetricKind::actual_positives: {
        const float* t = static_cast<const float*>(y_true.raw_data()) + r * cols;
        float count = 0;
        for (int64_t j = 0; j < cols; ++j) {
          const bool predicted = p[j] > 0.5f, actual = t[j] != 0.0f;
          count += (kind == MetricKind::true_positives ? predicted && actual
                                                       : kind == MetricKind::predicted_positives ? predicted : actual)
                       ? 1.0f
                       : 0.0f;
        }
        out[r] = count;
        break;
      }
      case MetricKind::mean_absolute_error:
      case MetricKind::mean_squared_error: {
        const float* t = static_cast<const float*>(y_true.raw_data()) + r * cols;
        float sum = 0;
        for (int64_t j = 0; j < cols; ++j) {
          const float d = p[j] - t[j];
          sum += kind == MetricKind::mean_absolute_error ? std::fabs(d) : d * d;
        }
        out[r] = sum / static_cast<float>(cols);
        break;
      }
    }
  }
}

}  // namespace kerosene::backends::cpu
