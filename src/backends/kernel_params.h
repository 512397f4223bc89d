// Parameters of the kernels every backend implements: plain values with no tensor, library or
// device types, so the CUDA plugin's C ABI (backends/cuda/plugin_api.h) can share them.
#pragma once

#include <cstdint>
#include <limits>

namespace kerosene::backends {

/// Keras' activations (keras.activations), by their Keras names.
enum class ActivationKind : uint8_t {
  linear, relu, sigmoid, tanh, softmax,
  gelu,          ///< exact: 0.5 x (1 + erf(x / sqrt 2)) (Keras' default approximate=False)
  silu,          ///< x sigmoid(x); Keras' "swish" is the same function
  elu,           ///< alpha 1
  selu,          ///< alpha 1.67326324, scale 1.05070098
  leaky_relu,    ///< x, or negative_slope * x below 0
  softplus,      ///< log(1 + exp(x))
  hard_sigmoid,  ///< relu6(x + 3) / 6 (Keras 3's; Keras 2's was 0.2 x + 0.5)
};

/// An activation and its parameters. The parameters are those of Keras' functions and layers:
/// a name alone ("leaky_relu") means Keras' defaults (nn::activation_params), and the ReLU,
/// LeakyReLU and Softmax layers set their own.
struct ActivationParams {
  ActivationKind kind = ActivationKind::linear;
  /// relu: the slope below `threshold`; leaky_relu: the slope below 0. At least 0.
  float negative_slope = 0.0f;
  /// relu: the largest output; infinity for none (Keras' None).
  float max_value = std::numeric_limits<float>::infinity();
  /// relu: inputs at or below it give 0 (plus the slope's part). At least 0.
  float threshold = 0.0f;
  /// softmax: the axis it normalizes, counting the batch dimension; negative counts from the end.
  int axis = -1;
};

/// relu as the ops fuse it (oneDNN and cuDNN post-ops): max(x, 0), no parameters.
constexpr bool is_plain_relu(const ActivationParams& a) {
  return a.kind == ActivationKind::relu && a.negative_slope == 0.0f && a.threshold == 0.0f &&
         a.max_value == std::numeric_limits<float>::infinity();
}

/// Whether activation_backward reads the activation's input x: gelu's and silu's derivatives are
/// no function of their output. Every other kind's is, and its backward reads y alone.
constexpr bool backward_reads_input(ActivationKind kind) {
  return kind == ActivationKind::gelu || kind == ActivationKind::silu;
}

/// What a matmul or convolution multiplies in (a layer's compute dtype under a mixed-precision
/// policy): inputs and weights rounded to it, products accumulated and written in float32.
enum class ComputePrecision : uint8_t { float32, bfloat16, float16 };

struct Conv2DParams {
  int64_t batch, in_h, in_w, in_c;     // input NHWC
  int64_t out_h, out_w, out_c;         // output NHWC
  int64_t kernel_h, kernel_w;          // kernel HWIO (Keras layout)
  int64_t stride_h, stride_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
  /// Keras' dilation_rate: kernel taps `dilation` input pixels apart; 1 is a plain convolution
  /// (oneDNN counts the pixels skipped, dilation - 1). Last, with a default, so the callers
  /// that list the fields above need not change.
  int64_t dilation_h = 1, dilation_w = 1;
  /// Grouped convolution: input and output channels split into `groups` equal parts, part g of
  /// the output computed from part g of the input alone. The kernel keeps Keras' layout
  /// (kh, kw, in_c / groups, out_c); groups = in_c is a depthwise convolution, whose Keras kernel
  /// (kh, kw, in_c, depth_multiplier) is the same memory (output channel c * multiplier + m).
  int64_t groups = 1;
};

enum class PoolKind : uint8_t { max, average };

struct Pool2DParams {
  PoolKind kind;
  int64_t batch, in_h, in_w, channels;
  int64_t out_h, out_w;
  int64_t pool_h, pool_w, stride_h, stride_w;
  int64_t pad_top, pad_left, pad_bottom, pad_right;
};

/// BatchNormalization on rows x channels (channels last: every axis but the last is a row).
/// training: normalize with the batch's mean and biased variance and update the moving
/// statistics (moving = moving * momentum + batch * (1 - momentum), as Keras 3); otherwise
/// normalize with the moving statistics.
struct BatchNormParams {
  int64_t rows, channels;
  float epsilon, momentum;
  bool training;
};

/// LayerNormalization on rows x cols: each row normalized over its cols.
struct LayerNormParams {
  int64_t rows, cols;
  float epsilon;
};

/// A copy between NHWC images in which each output pixel is one input pixel or zero:
///   dst[n, h, w, c] = src[n, (h - offset_h) / repeat_h, (w - offset_w) / repeat_w, c]
/// where h - offset_h and w - offset_w are non-negative and the source pixel exists, else 0.
/// Positive offsets zero-pad (ZeroPadding2D), negative ones crop (Cropping2D), repeats
/// upsample (UpSampling2D, nearest); the backward pass is the adjoint (each source pixel gets
/// the sum of the gradients of the output pixels that copied it), so each layer describes its
/// mapping once and both directions use it.
struct SpatialCopy2DParams {
  int64_t batch, in_h, in_w, channels;  // src NHWC
  int64_t out_h, out_w;                 // dst NHWC (same batch and channels)
  int64_t offset_h, offset_w;
  int64_t repeat_h, repeat_w;           // at least 1
};

enum class LossKind : uint8_t {
  sparse_categorical_crossentropy,
  categorical_crossentropy,
  binary_crossentropy,
  mean_squared_error,
  // Keras 3's other losses, each a function of a row of y_pred and y_true (src/backends/loss_terms.h).
  mean_absolute_error,
  huber,
  log_cosh,
  mean_squared_logarithmic_error,
  kl_divergence,
  poisson,
  hinge,
  squared_hinge,
  cosine_similarity,
};
inline constexpr LossKind kLastLossKind = LossKind::cosine_similarity;

/// One loss evaluation over a batch (rows of `y_pred`).
struct LossArgs {
  LossKind kind;
  bool from_logits;   // y_pred holds logits: the softmax/sigmoid is fused into the loss
  float grad_scale;   // multiplies d(loss)/d(y_pred); 1/global_batch for a mean
  /// Categorical and binary cross-entropy: the targets become t (1 - s) + s / classes
  /// (categorical) or t (1 - s) + s / 2 (binary), as Keras' label_smoothing.
  float label_smoothing = 0.0f;
  float delta = 1.0f;  // Huber's: quadratic below it, linear above
};

enum class MetricKind : uint8_t {
  sparse_categorical_accuracy,
  categorical_accuracy,
  binary_accuracy,
  mean_absolute_error,  // per sample: the mean over the row, as Keras' MeanAbsoluteError
  mean_squared_error,   // also the per-sample value RootMeanSquaredError takes the root of the mean of
  // Confusion counts of a row at threshold 0.5 (prediction p > 0.5 is positive, target t != 0 is
  // positive), whose sums Precision and Recall divide.
  true_positives,
  predicted_positives,
  actual_positives,
};
inline constexpr MetricKind kLastMetricKind = MetricKind::actual_positives;

/// Metrics that keep a vector of counts (or sums) rather than one per-sample value: the op
/// writes the batch's counts, which add across batches, replicas and workers.
enum class MetricCountKind : uint8_t {
  top_k_hits,        // 1 count: rows whose label is among the k largest predictions (Keras' in_top_k)
  auc_buckets,       // 2 * size: per threshold bucket, the positives and the negatives that land there
  f_beta_counts,     // 4 * cols: per class, sum y_pred*y_true, y_pred*(1-y_true), (1-y_pred)*y_true, y_true
  confusion_matrix,  // size * size: [true class][predicted class]
};
inline constexpr MetricCountKind kLastMetricCountKind = MetricCountKind::confusion_matrix;

struct MetricCountArgs {
  MetricCountKind kind;
  /// top_k_hits: k; auc_buckets: num_thresholds; confusion_matrix: num_classes.
  int32_t size = 0;
  /// f_beta_counts: y_pred > threshold is positive; NaN: the row's maximum is (Keras' None).
  float threshold = 0.0f;
  bool from_logits = false;    // auc_buckets: a sigmoid first
  bool sparse_y_true = true;   // y_true holds class ids (top-k, confusion matrix), else one-hot rows
  bool sparse_y_pred = true;   // confusion_matrix: y_pred holds class ids, else its row's argmax is
  bool y_true_int32 = false;   // y_true's dtype: int32, else float32
  int32_t true_cols = 1;       // y_true's values per row
  int32_t ignore_class = -1;   // confusion_matrix: labels equal to it are left out (-1: none)
};

struct AdamStep {
  float learning_rate, beta_1, beta_2, epsilon;
  float weight_decay;       // AdamW's decoupled decay (0 for Adam)
  float beta_1_power, beta_2_power;  // beta^t for this step t (1-based)
};

struct SGDStep {
  float learning_rate, momentum;
  bool nesterov;
};

struct RMSpropStep {
  float learning_rate, rho, momentum, epsilon;
  bool centered;
};

/// The update rules of optimizer_update, one kernel entry for all (math/optimizers.h has each).
enum class OptimizerRule : uint8_t { adam_amsgrad, nadam, adamax, adagrad, lion };

/// One step of an OptimizerRule. c0..c4 are per-step constants computed on the host, so every
/// device uses the same float bits: adam_amsgrad: c0 = alpha (Adam's bias-corrected rate);
/// nadam: c0 = u_{t+1}, c1 = 1 - u_product_{t+1}, c2 = 1 - u_t, c3 = 1 - u_product_t,
/// c4 = 1 - beta_2^t; adamax: c0 = 1 - beta_1^t. Unused fields are 0.
struct OptimizerStep {
  OptimizerRule rule;
  float learning_rate, beta_1, beta_2, epsilon;
  float c0, c1, c2, c3, c4;
};

/// Slots each OptimizerRule updates (the slot pointers after them may be null).
inline constexpr int optimizer_rule_slots(OptimizerRule rule) {
  switch (rule) {
    case OptimizerRule::adam_amsgrad: return 3;
    case OptimizerRule::nadam:
    case OptimizerRule::adamax: return 2;
    default: return 1;
  }
}

}  // namespace kerosene::backends
