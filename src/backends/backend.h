// Backend: one kernel table per device type. The op layer (src/ops) checks arguments and
// dispatches on a tensor's device to its backend; layers never know which device they run on.
// Adding a backend (CUDA) means implementing this interface in a new folder.
//
// Every kernel writes into tensors the caller allocated, so a training step allocates nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "backends/device_collectives.h"
#include "backends/kernel_params.h"
#include "backends/pinned_host.h"
#include "kerosene/error.h"
#include "kerosene/tensor.h"
#include "runtime/caching_allocator.h"

namespace kerosene::backends {

/// A tensor seen as outer x n x inner around one axis, n the axis' size: softmax's layout.
struct AxisSplit {
  int64_t outer, n, inner;
};
/// `axis` counts from the end when negative, as Keras'. Throws ValueError outside the shape.
inline AxisSplit split_at_axis(const Shape& shape, int axis) {
  const int rank = shape.rank();
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) {
    throw ValueError("axis " + std::to_string(axis) + " is outside a tensor of shape " + shape.to_string());
  }
  AxisSplit s{1, shape[a], 1};
  for (int i = 0; i < a; ++i) s.outer *= shape[i];
  for (int i = a + 1; i < rank; ++i) s.inner *= shape[i];
  return s;
}

/// A 16-bit copy of a float32 operand that its owner keeps for several products of one step (a
/// Dense layer's input: its forward product and its kernel's gradient), so it is rounded once.
/// The backend fills it (round_operand) and a product uses it in place of the operand when it
/// holds that tensor: same data pointer, size and precision. The owner refills it whenever the
/// source may have changed (a layer: at every forward, as it keeps the source itself for backward).
struct RoundedOperand {
  const void* source = nullptr;
  int64_t numel = 0;
  ComputePrecision precision = ComputePrecision::float32;
  std::vector<uint16_t> bits;
  bool holds(const Tensor& t, ComputePrecision p) const {
    return source != nullptr && source == t.raw_data() && numel == t.numel() && precision == p;
  }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;

  // --- memory -------------------------------------------------------------------------------
  virtual runtime::NativeAllocator native_allocator(int device_index) = 0;
  virtual bool host_accessible() const = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_on_device(void* dst, const void* src, size_t bytes) = 0;
  /// Waits until every kernel queued on this device has finished.
  virtual void synchronize() {}
  /// Pinned host memory to gather batches into, for a device the host cannot address; null
  /// when the backend has none (the CPU).
  virtual PinnedHost* pinned_host() { return nullptr; }

  // --- collectives between devices of this backend ---------------------------------------------
  /// The backend's collective library (NCCL for CUDA), or null when it has none (the CPU: the
  /// distribute layer sums CPU replicas in-process or over MPI). Lives as long as the process.
  virtual DeviceCollectives* collectives() { return nullptr; }
  /// This device's number in collectives()' calls (the CUDA ordinal, which logical devices of
  /// one GPU share); -1 when there are no collectives.
  virtual int collective_device() const { return -1; }

  // --- element-wise ---------------------------------------------------------------------------
  virtual void fill(Tensor& out, float value) = 0;
  /// Converts between dtypes (uint8/int32/int64 <-> float32), multiplying by `scale`.
  virtual void cast(const Tensor& in, Tensor& out, float scale) = 0;
  /// y = the activation of x (softmax along a.axis); y may alias x.
  virtual void activation_forward(const ActivationParams& a, const Tensor& x, Tensor& y) = 0;
  /// dx from dy, the activation's input x and its output y; dx may alias dy. Most derivatives
  /// are functions of the output, and those kinds read y alone (so a layer need not keep x, and
  /// relu fused into the previous op, whose input is gone, may pass y as x); gelu and silu read
  /// x alone (backward_reads_input).
  virtual void activation_backward(const ActivationParams& a, const Tensor& x, const Tensor& y,
                                   const Tensor& dy, Tensor& dx) = 0;
  /// y = x * mask where mask is 0 or 1/(1-rate), drawn from (seed, offset) by counter-based RNG.
  virtual void dropout_forward(const Tensor& x, Tensor& mask, Tensor& y, float rate,
                               uint64_t seed, uint64_t offset) = 0;
  virtual void multiply(const Tensor& a, const Tensor& b, Tensor& out) = 0;
  /// out[r, j] = x[r, j] * w[r]: x and out (may alias) are `rows` = w.numel() rows of equal
  /// length (per-sample losses and their gradients scaled by the samples' weights).
  virtual void scale_rows(const Tensor& x, const Tensor& w, Tensor& out) = 0;

  // --- dense algebra --------------------------------------------------------------------------
  /// c = op(a) @ op(b) (+ bias broadcast over rows) (+ c if accumulate), then `fused` applied
  /// (linear or relu only). a, b, c are 2-D row-major. `precision` other than float32 rounds a
  /// and b to it (c stays float32); a backend without such kernels throws DeviceError.
  /// `a16`/`b16` (either may be null): copies rounded earlier (round_operand), used in place of
  /// a/b when they hold them; backends that round every product themselves ignore them.
  virtual void matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                      const Tensor* bias, Tensor& c, bool accumulate, ActivationKind fused,
                      ComputePrecision precision, const RoundedOperand* a16 = nullptr,
                      const RoundedOperand* b16 = nullptr) = 0;
  /// Fills `copy` with `x` rounded to `precision`, for the products' a16/b16; leaves it empty
  /// (holding nothing) for float32 and where the backend keeps no copies.
  virtual void round_operand(const Tensor& x, ComputePrecision precision, RoundedOperand& copy) {
    (void)x;
    (void)precision;
    copy.source = nullptr;
  }
  /// db[j] = sum over rows of dy[.., j] (dy viewed as 2-D with last dim = db's size).
  virtual void bias_grad(const Tensor& dy, Tensor& db) = 0;

  /// The convolutions take `precision`, and copies of their two operands, as matmul does
  /// (float32 tensors in and out either way).
  virtual void conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w,
                              const Tensor* bias, Tensor& y, ActivationKind fused,
                              ComputePrecision precision = ComputePrecision::float32,
                              const RoundedOperand* x16 = nullptr, const RoundedOperand* w16 = nullptr) = 0;
  virtual void conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w,
                                    Tensor& dx, ComputePrecision precision = ComputePrecision::float32,
                                    const RoundedOperand* dy16 = nullptr, const RoundedOperand* w16 = nullptr) = 0;
  virtual void conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy,
                                       Tensor& dw, Tensor* db,
                                       ComputePrecision precision = ComputePrecision::float32,
                                       const RoundedOperand* x16 = nullptr, const RoundedOperand* dy16 = nullptr) = 0;

  virtual void pool2d_forward(const Pool2DParams& p, const Tensor& x, Tensor& y) = 0;
  /// dx from dy. Max pooling routes each gradient to the first maximum of its window, found by
  /// comparing x with y (as TensorFlow's MaxPoolGrad and cuDNN do), so nothing is kept between
  /// forward and backward but the two tensors the layer has anyway.
  virtual void pool2d_backward(const Pool2DParams& p, const Tensor& x, const Tensor& y, const Tensor& dy,
                               Tensor& dx) = 0;

  // A convolution (+ReLU) and the 2x2, stride-2, "valid" max pooling after it, as one op: the
  // graph executor fuses them (train/layer_fusion.h) where the backend's fuses_conv_max_pool()
  // says it can, so the convolution's output is never written. `precision` as conv2d_forward's;
  // the input's gradient is not computed (the executor fuses only a convolution of a model
  // input).
  /// Whether conv2d_max_pool_forward/backward_weights handle this convolution.
  virtual bool fuses_conv_max_pool(const Conv2DParams& p, ComputePrecision precision) const { return false; }
  /// y (N, out_h / 2, out_w / 2, out_c) = max pooling of fused(conv(x) + bias), fused linear or
  /// relu; winners (int32, y's shape; null in inference): the window's first maximum, 0-3 in
  /// row-major order, or 4 where the ReLU's gradient is 0.
  virtual void conv2d_max_pool_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                                       ActivationKind fused, Tensor& y, Tensor* winners, ComputePrecision precision) {
    throw RuntimeError("conv2d_max_pool_forward: this backend does not fuse convolution and pooling");
  }
  /// dw and db (when not null) from the pooled output's gradient dy and the forward's winners.
  virtual void conv2d_max_pool_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& winners,
                                                const Tensor& dy, Tensor& dw, Tensor* db, ComputePrecision precision) {
    throw RuntimeError("conv2d_max_pool_backward_weights: this backend does not fuse convolution and pooling");
  }

  // --- normalization (gamma, beta: null when the layer has none: 1 and 0) -------------------
  /// y = (x - mean) * inv_std * gamma + beta per channel. Writes mean and inv_std (channels),
  /// what backward needs: the batch's in training (and then updates the moving statistics),
  /// else from the moving statistics, which it leaves alone.
  virtual void batch_norm_forward(const BatchNormParams& p, const Tensor& x, const Tensor* gamma,
                                  const Tensor* beta, Tensor& moving_mean, Tensor& moving_variance,
                                  Tensor& mean, Tensor& inv_std, Tensor& y) = 0;
  /// dgamma = sum(dy * x_hat) and dbeta = sum(dy) per channel, always written (the training
  /// gradient needs both); dx when not null: through the batch's mean and variance in training,
  /// else dy * gamma * inv_std.
  virtual void batch_norm_backward(const BatchNormParams& p, const Tensor& x, const Tensor& dy,
                                   const Tensor* gamma, const Tensor& mean, const Tensor& inv_std,
                                   Tensor* dx, Tensor& dgamma, Tensor& dbeta) = 0;
  // Synchronized BatchNormalization: the statistics of a batch split across replicas come from
  // per-channel sums that the layer all-reduces between these calls. C = p.channels; p.rows is
  // this replica's rows, which may be 0 (a replica with no rows still takes part).
  /// sums (2C + 1) = [sum of d, sum of d^2, p.rows] per channel, d = x - shift: a shift near the
  /// mean keeps the variance from cancelling when |mean| >> std. Every replica passes the same
  /// shift (C values: the moving mean, which every replica keeps identical).
  virtual void batch_norm_sums(const BatchNormParams& p, const Tensor& x, const Tensor& shift, Tensor& sums) = 0;
  /// Training forward with the statistics of `sums` (batch_norm_sums added over every replica):
  /// count = sums[2C], mean = shift + sum d / count, biased variance = sum d^2 / count -
  /// (sum d / count)^2. Updates the moving statistics as batch_norm_forward does (shift may be
  /// moving_mean itself: it is read first); writes mean, inv_std and, when x is not null, y.
  virtual void batch_norm_forward_from_sums(const BatchNormParams& p, const Tensor& sums, const Tensor& shift,
                                            const Tensor* x,
                                            const Tensor* gamma, const Tensor* beta, Tensor& moving_mean,
                                            Tensor& moving_variance, Tensor& mean, Tensor& inv_std, Tensor* y) = 0;
  /// dx of that forward: gamma * inv_std * (dy - sum dy / count - x_hat * sum(dy * x_hat) / count),
  /// where grad_sums (2C) = [sum dy, sum dy * x_hat] over every replica (batch_norm_backward's
  /// dbeta and dgamma, added) and count = batch_sums[2C].
  virtual void batch_norm_backward_from_sums(const BatchNormParams& p, const Tensor& x, const Tensor& dy,
                                             const Tensor* gamma, const Tensor& mean, const Tensor& inv_std,
                                             const Tensor& batch_sums, const Tensor& grad_sums, Tensor& dx) = 0;
  // A ReLU fused into the op before it: the graph executor drops a plain ReLU layer whose input
  // only it reads (ModelState::plan_relu_fusion), saving a pass over the tensor each way. Only
  // called on a backend whose fuses_relu() is true; the others run the ReLU layer as it is.
  /// Whether this backend implements batch_norm_relu_forward/backward and add_relu.
  virtual bool fuses_relu() const { return false; }
  /// batch_norm_forward, then y = max(y, 0).
  virtual void batch_norm_relu_forward(const BatchNormParams& p, const Tensor& x, const Tensor* gamma,
                                       const Tensor* beta, Tensor& moving_mean, Tensor& moving_variance,
                                       Tensor& mean, Tensor& inv_std, Tensor& y) {
    (void)p, (void)x, (void)gamma, (void)beta, (void)moving_mean, (void)moving_variance, (void)mean, (void)inv_std, (void)y;
    throw RuntimeError("batch_norm_relu_forward: this backend does not fuse ReLU (fuses_relu() is false)");
  }
  /// batch_norm_backward of that forward: dy is the gradient w.r.t. its output y (after the
  /// ReLU), and counts where y > 0 only.
  virtual void batch_norm_relu_backward(const BatchNormParams& p, const Tensor& x, const Tensor& y,
                                        const Tensor& dy, const Tensor* gamma, const Tensor& mean,
                                        const Tensor& inv_std, Tensor* dx, Tensor& dgamma, Tensor& dbeta) {
    (void)p, (void)x, (void)y, (void)dy, (void)gamma, (void)mean, (void)inv_std, (void)dx, (void)dgamma, (void)dbeta;
    throw RuntimeError("batch_norm_relu_backward: this backend does not fuse ReLU (fuses_relu() is false)");
  }
  /// out = max(a + b, 0), element-wise; out may alias a or b.
  virtual void add_relu(const Tensor& a, const Tensor& b, Tensor& out) {
    (void)a, (void)b, (void)out;
    throw RuntimeError("add_relu: this backend does not fuse ReLU (fuses_relu() is false)");
  }
  /// y = (x - mean) * inv_std * gamma + beta per row; writes mean and inv_std (rows).
  virtual void layer_norm_forward(const LayerNormParams& p, const Tensor& x, const Tensor* gamma,
                                  const Tensor* beta, Tensor& mean, Tensor& inv_std, Tensor& y) = 0;
  /// dx, dgamma (sum over rows of dy * x_hat), dbeta (sum over rows of dy), each when not null.
  virtual void layer_norm_backward(const LayerNormParams& p, const Tensor& x, const Tensor& dy,
                                   const Tensor* gamma, const Tensor& mean, const Tensor& inv_std,
                                   Tensor* dx, Tensor* dgamma, Tensor* dbeta) = 0;

  // --- losses and metrics ---------------------------------------------------------------------
  /// Per-sample losses into `sample_loss` (N) and, when `dy_pred` is non-null, the gradient
  /// d(mean loss)/d(y_pred) scaled by args.grad_scale.
  virtual void loss(const LossArgs& args, const Tensor& y_pred, const Tensor& y_true,
                    Tensor& sample_loss, Tensor* dy_pred) = 0;
  /// Per-sample 0/1 correctness into `correct` (N).
  virtual void metric(MetricKind kind, const Tensor& y_pred, const Tensor& y_true,
                      Tensor& correct) = 0;
  /// The batch's counts of a counting metric into `counts` (MetricCountKind says how many),
  /// overwriting them. y_pred: rows x cols; y_true: rows x args.true_cols.
  virtual void metric_counts(const MetricCountArgs& args, const Tensor& y_pred, const Tensor& y_true,
                             Tensor& counts) = 0;
  /// out (1 element) = sum of x.
  virtual void sum(const Tensor& x, Tensor& out) = 0;
  /// Whether every element is finite.
  virtual bool all_finite(const Tensor& x) = 0;

  // --- merging several tensors (the Functional API's merge layers) ---------------------------
  /// out = alpha * x + beta * y, element-wise; y is not read when beta is 0. out may alias x or y.
  virtual void axpby(float alpha, const Tensor& x, float beta, const Tensor& y, Tensor& out) = 0;
  /// out = max(a, b) (or min), element-wise.
  virtual void minmax(bool maximum, const Tensor& a, const Tensor& b, Tensor& out) = 0;
  /// The gradients of out = max(a, b) (or min): dy goes to da where a wins or ties (as
  /// TensorFlow's MaximumGrad), else to db; the other gets 0.
  virtual void minmax_backward(bool maximum, const Tensor& a, const Tensor& b, const Tensor& dy,
                               Tensor& da, Tensor& db) = 0;
  /// Copies a rows x cols block from src, viewed as a row-major matrix of src_cols columns,
  /// starting at column src_col, into dst (dst_cols columns) at column dst_col: one input's
  /// part of a concatenation, or (the other way) its gradient's part of the output's.
  virtual void copy_block(const Tensor& src, int64_t src_cols, int64_t src_col, Tensor& dst,
                          int64_t dst_cols, int64_t dst_col, int64_t rows, int64_t cols) = 0;

  // --- spatial copies (ZeroPadding2D, Cropping2D, UpSampling2D) ------------------------------
  /// dst (batch, out_h, out_w, channels) from src (batch, in_h, in_w, channels) as
  /// SpatialCopy2DParams describes; every element of dst is written.
  virtual void spatial_copy2d(const SpatialCopy2DParams& p, const Tensor& src, Tensor& dst) = 0;
  /// Its adjoint: dsrc (src's shape) from ddst (dst's shape); every element of dsrc is written.
  virtual void spatial_copy2d_backward(const SpatialCopy2DParams& p, const Tensor& ddst, Tensor& dsrc) = 0;

  // --- optimizers -----------------------------------------------------------------------------
  virtual void sgd_update(const SGDStep& s, Tensor& param, const Tensor& grad, Tensor* velocity) = 0;
  virtual void adam_update(const AdamStep& s, Tensor& param, const Tensor& grad, Tensor& m,
                           Tensor& v) = 0;
  virtual void rmsprop_update(const RMSpropStep& s, Tensor& param, const Tensor& grad,
                              Tensor& ms, Tensor* mom, Tensor* mg) = 0;
  /// The rules of OptimizerRule (Adam with amsgrad, Nadam, Adamax, Adagrad, Lion); `slots` points
  /// at optimizer_rule_slots(s.rule) tensors shaped like `param`.
  virtual void optimizer_update(const OptimizerStep& s, Tensor& param, const Tensor& grad, Tensor* slots) = 0;
};

/// The backend of a device type; throws DeviceError when that backend is not available.
Backend& backend_for(DeviceType type);

}  // namespace kerosene::backends
