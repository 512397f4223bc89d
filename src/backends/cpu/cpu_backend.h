// The CPU backend: oneDNN primitives (matmul, convolution), created once per shape and cached;
// vectorized loops for pooling and the element-wise work; a ParallelTeam splits large ops.
#pragma once

#include <memory>

#include "backends/backend.h"

namespace kerosene::backends::cpu {

class OneDnn;  // engine, stream and primitive caches (onednn.h)

class CpuBackend final : public Backend {
 public:
  CpuBackend();
  ~CpuBackend() override;
  std::string name() const override { return "cpu"; }

  runtime::NativeAllocator native_allocator(int device_index) override;
  bool host_accessible() const override { return true; }
  void copy_from_host(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* dst, const void* src, size_t bytes) override;
  void copy_on_device(void* dst, const void* src, size_t bytes) override;

  void fill(Tensor& out, float value) override;
  void cast(const Tensor& in, Tensor& out, float scale) override;
  void activation_forward(const ActivationParams& a, const Tensor& x, Tensor& y) override;
  void activation_backward(const ActivationParams& a, const Tensor& x, const Tensor& y, const Tensor& dy,
                           Tensor& dx) override;
  void dropout_forward(const Tensor& x, Tensor& mask, Tensor& y, float rate, uint64_t seed,
                       uint64_t offset) override;
  void multiply(const Tensor& a, const Tensor& b, Tensor& out) override;
  void scale_rows(const Tensor& x, const Tensor& w, Tensor& out) override;

  void matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
              const Tensor* bias, Tensor& c, bool accumulate, ActivationKind fused,
              ComputePrecision precision, const RoundedOperand* a16, const RoundedOperand* b16) override;
  void round_operand(const Tensor& x, ComputePrecision precision, RoundedOperand& copy) override;
  void bias_grad(const Tensor& dy, Tensor& db) override;
  void conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                      Tensor& y, ActivationKind fused, ComputePrecision precision, const RoundedOperand* x16,
                      const RoundedOperand* w16) override;
  void conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w,
                            Tensor& dx, ComputePrecision precision, const RoundedOperand* dy16,
                            const RoundedOperand* w16) override;
  void conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy,
                               Tensor& dw, Tensor* db, ComputePrecision precision, const RoundedOperand* x16,
                               const RoundedOperand* dy16) override;
  void pool2d_forward(const Pool2DParams& p, const Tensor& x, Tensor& y) override;
  void pool2d_backward(const Pool2DParams& p, const Tensor& x, const Tensor& y, const Tensor& dy,
                       Tensor& dx) override;
  bool fuses_conv_max_pool(const Conv2DParams& p, ComputePrecision precision) const override;
  void conv2d_max_pool_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                               ActivationKind fused, Tensor& y, Tensor* winners, ComputePrecision precision) override;
  void conv2d_max_pool_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& winners,
                                        const Tensor& dy, Tensor& dw, Tensor* db, ComputePrecision precision) override;

  void batch_norm_forward(const BatchNormParams& p, const Tensor& x, const Tensor* gamma, const Tensor* beta,
                          Tensor& moving_mean, Tensor& moving_variance, Tensor& mean, Tensor& inv_std,
                          Tensor& y) override;
  void batch_norm_backward(const BatchNormParams& p, const Tensor& x, const Tensor& dy, const Tensor* gamma,
                           const Tensor& mean, const Tensor& inv_std, Tensor* dx, Tensor& dgamma,
                           Tensor& dbeta) override;
  void batch_norm_sums(const BatchNormParams& p, const Tensor& x, const Tensor& shift, Tensor& sums) override;
  void batch_norm_forward_from_sums(const BatchNormParams& p, const Tensor& sums, const Tensor& shift, const Tensor* x,
                                    const Tensor* gamma,
                                    const Tensor* beta, Tensor& moving_mean, Tensor& moving_variance, Tensor& mean,
                                    Tensor& inv_std, Tensor* y) override;
  void batch_norm_backward_from_sums(const BatchNormParams& p, const Tensor& x, const Tensor& dy, const Tensor* gamma,
                                     const Tensor& mean, const Tensor& inv_std, const Tensor& batch_sums,
                                     const Tensor& grad_sums, Tensor& dx) override;
  bool fuses_relu() const override { return true; }
  void batch_norm_relu_forward(const BatchNormParams& p, const Tensor& x, const Tensor* gamma, const Tensor* beta,
                               Tensor& moving_mean, Tensor& moving_variance, Tensor& mean, Tensor& inv_std,
                               Tensor& y) override;
  void batch_norm_relu_backward(const BatchNormParams& p, const Tensor& x, const Tensor& y, const Tensor& dy,
                                const Tensor* gamma, const Tensor& mean, const Tensor& inv_std, Tensor* dx,
                                Tensor& dgamma, Tensor& dbeta) override;
  void add_relu(const Tensor& a, const Tensor& b, Tensor& out) override;
  void layer_norm_forward(const LayerNormParams& p, const Tensor& x, const Tensor* gamma, const Tensor* beta,
                          Tensor& mean, Tensor& inv_std, Tensor& y) override;
  void layer_norm_backward(const LayerNormParams& p, const Tensor& x, const Tensor& dy, const Tensor* gamma,
                           const Tensor& mean, const Tensor& inv_std, Tensor* dx, Tensor* dgamma,
                           Tensor* dbeta) override;

  void loss(const LossArgs& args, const Tensor& y_pred, const Tensor& y_true, Tensor& sample_loss,
            Tensor* dy_pred) override;
  void metric(MetricKind kind, const Tensor& y_pred, const Tensor& y_true, Tensor& correct) override;
  void metric_counts(const MetricCountArgs& args, const Tensor& y_pred, const Tensor& y_true,
                     Tensor& counts) override;
  void sum(const Tensor& x, Tensor& out) override;
  bool all_finite(const Tensor& x) override;

  void axpby(float alpha, const Tensor& x, float beta, const Tensor& y, Tensor& out) override;
  void minmax(bool maximum, const Tensor& a, const Tensor& b, Tensor& out) override;
  void minmax_backward(bool maximum, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                       Tensor& db) override;
  void copy_block(const Tensor& src, int64_t src_cols, int64_t src_col, Tensor& dst, int64_t dst_cols,
                  int64_t dst_col, int64_t rows, int64_t cols) override;

  void spatial_copy2d(const SpatialCopy2DParams& p, const Tensor& src, Tensor& dst) override;
  void spatial_copy2d_backward(const SpatialCopy2DParams& p, const Tensor& ddst, Tensor& dsrc) override;

  void sgd_update(const SGDStep& s, Tensor& param, const Tensor& grad, Tensor* velocity) override;
  void adam_update(const AdamStep& s, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v) override;
  void optimizer_update(const OptimizerStep& s, Tensor& param, const Tensor& grad, Tensor* slots) override;
  void rmsprop_update(const RMSpropStep& s, Tensor& param, const Tensor& grad, Tensor& ms,
                      Tensor* mom, Tensor* mg) override;

 private:
  std::unique_ptr<OneDnn> onednn_;
};

/// Threads an op of `flops` floating-point operations should use: small ops run on one thread,
/// where waking a second costs more than it saves. Never more than runtime::op_threads_here(),
/// so an op on a CPU replica's thread (capped at one) is not split into chunks that would only
/// run one after the other.
int threads_for(double flops);
/// Threads for a memory-bound loop over n elements: a second thread pays off from ~64K elements.
/// Within runtime::op_threads_here(), as threads_for.
int threads_for_elements(int64_t n);

}  // namespace kerosene::backends::cpu
