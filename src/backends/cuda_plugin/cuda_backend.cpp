#include "backends/cuda_plugin/cuda_backend.h"

#include "backends/cuda_plugin/cuda_collectives.h"
#include "kerosene/error.h"
#include "runtime/tensor_float_32.h"

namespace kerosene::backends::cuda_plugin {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.raw_data()); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }
float* f32(Tensor* t) { return t ? f32(*t) : nullptr; }
const float* f32(const Tensor* t) { return t ? f32(*t) : nullptr; }

// Activations and losses treat their input as rows of the last dimension.
int64_t cols_of(const Tensor& t) { return t.shape().rank() == 0 ? 1 : t.dim(-1); }
int64_t rows_of(const Tensor& t) {
  const int64_t cols = cols_of(t);
  return cols == 0 ? 0 : t.numel() / cols;
}

// Softmax's vectors around its axis; any other kind, rows of the last dimension.
AxisSplit activation_split(const ActivationParams& a, const Tensor& t) {
  if (a.kind == ActivationKind::softmax) return split_at_axis(t.shape(), a.axis);
  return {rows_of(t), cols_of(t), 1};
}

}  // namespace

CudaBackend::CudaBackend(const cuda_abi::Plugin& api, int ordinal, std::string device_name)
    : api_(api), ordinal_(ordinal), device_name_(std::move(device_name)) {}

DeviceCollectives* CudaBackend::collectives() { return &cuda_collectives(api_); }

void CudaBackend::check(int status, const char* what) const {
  if (status == cuda_abi::kOk) return;
  throw DeviceError(std::string(what) + " on " + device_name_ + " (CUDA device " + std::to_string(ordinal_) +
                    ") failed: " + api_.last_error());
}

// Not under mutex_: a kernel call holds it while the plugin takes scratch memory from the
// caching allocator (InitOptions::scratch_allocate), whose native allocations come here; locking
// would deadlock that thread, and invert the lock order against a thread that allocates a tensor
// (allocator's mutex, then this). cudaMalloc(Async)/cudaFree(Async) are thread-safe and use no
// handle of the device's.
runtime::NativeAllocator CudaBackend::native_allocator(int) {
  return {
      [this](size_t bytes) -> void* {
        void* ptr = nullptr;
        const int status = api_.allocate(ordinal_, bytes, &ptr);
        if (status == cuda_abi::kOutOfMemory) return nullptr;  // the caching allocator reports it
        check(status, "allocating device memory");
        return ptr;
      },
      [this](void* ptr) { check(api_.deallocate(ordinal_, ptr), "freeing device memory"); },
  };
}

void CudaBackend::copy_from_host(void* dst, const void* src, size_t bytes) {
  std::lock_guard lock(mutex_);
  if (bytes) check(api_.copy_from_host(ordinal_, dst, src, bytes), "copying to the device");
}
void CudaBackend::copy_to_host(void* dst, const void* src, size_t bytes) {
  std::lock_guard lock(mutex_);
  if (bytes) check(api_.copy_to_host(ordinal_, dst, src, bytes), "copying to the host");
}
void CudaBackend::copy_on_device(void* dst, const void* src, size_t bytes) {
  std::lock_guard lock(mutex_);
  if (bytes) check(api_.copy_on_device(ordinal_, dst, src, bytes), "copying on the device");
}
void CudaBackend::synchronize() { check(api_.synchronize(ordinal_), "synchronize"); }

void* CudaBackend::allocate_pinned(size_t bytes) {
  void* ptr = nullptr;
  const int status = api_.host_alloc(bytes, &ptr);
  if (status == cuda_abi::kOutOfMemory) return nullptr;  // the caller copies the slow way
  check(status, "allocating pinned host memory");
  return ptr;
}
void CudaBackend::free_pinned(void* ptr) { check(api_.host_free(ptr), "freeing pinned host memory"); }
void CudaBackend::copy_from_pinned(void* dst, const void* src, size_t bytes, void*& fence) {
  std::lock_guard lock(mutex_);
  check(api_.copy_from_pinned(ordinal_, dst, src, bytes, &fence), "copying a batch to the device");
}
// Not under mutex_: waiting for a copy must not stop other threads from queueing work.
void CudaBackend::wait_fence(void* fence) { check(api_.fence_wait(fence), "waiting for a copy to the device"); }
void CudaBackend::destroy_fence(void* fence) { check(api_.fence_destroy(fence), "destroying a copy's event"); }

void CudaBackend::fill(Tensor& out, float value) {
  std::lock_guard lock(mutex_);
  check(api_.fill(ordinal_, f32(out), out.numel(), value), "fill");
}
void CudaBackend::cast(const Tensor& in, Tensor& out, float scale) {
  std::lock_guard lock(mutex_);
  check(api_.cast(ordinal_, in.raw_data(), in.dtype(), out.raw_data(), out.dtype(), in.numel(), scale), "cast");
}
void CudaBackend::activation_forward(const ActivationParams& a, const Tensor& x, Tensor& y) {
  const AxisSplit s = activation_split(a, x);
  std::lock_guard lock(mutex_);
  check(api_.activation_forward(ordinal_, &a, f32(x), f32(y), s.outer, s.n, s.inner), "activation");
}
void CudaBackend::activation_backward(const ActivationParams& a, const Tensor& x, const Tensor& y, const Tensor& dy,
                                      Tensor& dx) {
  const AxisSplit s = activation_split(a, y);
  std::lock_guard lock(mutex_);
  check(api_.activation_backward(ordinal_, &a, f32(x), f32(y), f32(dy), f32(dx), s.outer, s.n, s.inner),
        "activation gradient");
}
void CudaBackend::dropout_forward(const Tensor& x, Tensor& mask, Tensor& y, float rate, uint64_t seed,
                                  uint64_t offset) {
  std::lock_guard lock(mutex_);
  check(api_.dropout_forward(ordinal_, f32(x), f32(mask), f32(y), x.numel(), rate, seed, offset), "dropout");
}
void CudaBackend::multiply(const Tensor& a, const Tensor& b, Tensor& out) {
  std::lock_guard lock(mutex_);
  check(api_.multiply(ordinal_, f32(a), f32(b), f32(out), out.numel()), "multiply");
}
void CudaBackend::scale_rows(const Tensor& x, const Tensor& w, Tensor& out) {
  std::lock_guard lock(mutex_);
  const int64_t rows = w.numel();
  check(api_.scale_rows(ordinal_, f32(x), f32(w), f32(out), rows, rows > 0 ? x.numel() / rows : 0), "scale_rows");
}

namespace {
// The plugin converts to 16 bits itself; TF32 applies to float32 compute only, and is read at
// each call so that enable_tensor_float_32_execution takes effect at the next op.
cuda_abi::ComputeMode compute_mode(ComputePrecision precision) {
  const bool tf32 = precision == ComputePrecision::float32 && runtime::tensor_float_32_in_effect();
  return {precision, tf32 ? 1 : 0};
}
}  // namespace

void CudaBackend::matmul(const Tensor& a, bool ta, const Tensor& b, bool tb, const Tensor* bias, Tensor& c,
                         bool accumulate, ActivationKind fused, ComputePrecision precision, const RoundedOperand*,
                         const RoundedOperand*) {  // keeps no rounded copies: the plugin rounds in its scratch
  std::lock_guard lock(mutex_);
  cuda_abi::MatmulArgs args{};
  args.a = f32(a);
  args.b = f32(b);
  args.bias = f32(bias);
  args.c = f32(c);
  args.m = c.dim(0);
  args.n = c.dim(1);
  args.k = ta ? a.dim(0) : a.dim(1);
  args.transpose_a = ta;
  args.transpose_b = tb;
  args.accumulate = accumulate;
  args.fused = fused;
  args.mode = compute_mode(precision);
  check(api_.matmul(ordinal_, &args), "matmul");
}
void CudaBackend::bias_grad(const Tensor& dy, Tensor& db) {
  const int64_t cols = db.numel();
  std::lock_guard lock(mutex_);
  check(api_.bias_grad(ordinal_, f32(dy), cols ? dy.numel() / cols : 0, cols, f32(db)), "bias gradient");
}
void CudaBackend::conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                                 Tensor& y, ActivationKind fused, ComputePrecision precision, const RoundedOperand*,
                                 const RoundedOperand*) {
  std::lock_guard lock(mutex_);
  check(api_.conv2d_forward(ordinal_, &p, f32(x), f32(w), f32(bias), f32(y), fused, compute_mode(precision)),
        "conv2d");
}
void CudaBackend::conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w, Tensor& dx,
                                       ComputePrecision precision, const RoundedOperand*, const RoundedOperand*) {
  std::lock_guard lock(mutex_);
  check(api_.conv2d_backward_data(ordinal_, &p, f32(dy), f32(w), f32(dx), compute_mode(precision)),
        "conv2d input gradient");
}
void CudaBackend::conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy, Tensor& dw,
                                          Tensor* db, ComputePrecision precision, const RoundedOperand*,
                                          const RoundedOperand*) {
  std::lock_guard lock(mutex_);
  check(api_.conv2d_backward_weights(ordinal_, &p, f32(x), f32(dy), f32(dw), f32(db), compute_mode(precision)),
        "conv2d weight gradient");
}
void CudaBackend::pool2d_forward(const Pool2DParams& p, const Tensor& x, Tensor& y) {
  std::lock_guard lock(mutex_);
  check(api_.pool2d_forward(ordinal_, &p, f32(x), f32(y)), "pooling");
}
void CudaBackend::pool2d_backward(const Pool2DParams& p, const Tensor& x, const Tensor& y, const Tensor& dy,
                                  Tensor& dx) {
  std::lock_guard lock(mutex_);
  check(api_.pool2d_backward(ordinal_, &p, f32(x), f32(y), f32(dy), f32(dx)), "pooling gradient");
}

void CudaBackend::batch_norm_forward(const BatchNormParams& p, const Tensor& x, const Tensor* gamma,
                                     const Tensor* beta, Tensor& moving_mean, Tensor& moving_variance, Tensor& mean,
                                     Tensor& inv_std, Tensor& y) {
  std::lock_guard lock(mutex_);
  check(api_.batch_norm_forward(ordinal_, &p, f32(x), f32(gamma), f32(beta), f32(moving_mean), f32(moving_variance),
                                f32(mean), f32(inv_std), f32(y)),
        "batch normalization");
}
void CudaBackend::batch_norm_backward(const BatchNormParams& p, const Tensor& x, const Tensor& dy, const Tensor* gamma,
                                      const Tensor& mean, const Tensor& inv_std, Tensor* dx, Tensor& dgamma,
                                      Tensor& dbeta) {
  std::lock_guard lock(mutex_);
  check(api_.batch_norm_backward(ordinal_, &p, f32(x), f32(dy), f32(gamma), f32(mean), f32(inv_std), f32(dx),
                                 f32(dgamma), f32(dbeta)),
        "batch normalization gradient");
}
void CudaBackend::batch_norm_sums(const BatchNormParams& p, const Tensor& x, const Tensor& shift, Tensor& sums) {
  std::lock_guard lock(mutex_);
  check(api_.batch_norm_sums(ordinal_, &p, f32(x), f32(shift), f32(sums)), "batch normalization sums");
}
void CudaBackend::batch_norm_forward_from_sums(const BatchNormParams& p, const Tensor& sums, const Tensor& shift,
                                               const Tensor* x, const Tensor* gamma, const Tensor* beta, Tensor& moving_mean,
                                               Tensor& moving_variance, Tensor& mean, Tensor& inv_std, Tensor* y) {
  std::lock_guard lock(mutex_);
  check(api_.batch_norm_forward_from_sums(ordinal_, &p, f32(sums), f32(shift), f32(x), f32(gamma), f32(beta), f32(moving_mean),
                                          f32(moving_variance), f32(mean), f32(inv_std), f32(y)),
        "synchronized batch normalization");
}
void CudaBackend::batch_norm_backward_from_sums(const BatchNormParams& p, const Tensor& x, const Tensor& dy,
                                                const Tensor* gamma, const Tensor& mean, const Tensor& inv_std,
                                                const Tensor& batch_sums, const Tensor& grad_sums, Tensor& dx) {
  std::lock_guard lock(mutex_);
  check(api_.batch_norm_backward_from_sums(ordinal_, &p, f32(x), f32(dy), f32(gamma), f32(mean), f32(inv_std),
                                           f32(batch_sums), f32(grad_sums), f32(dx)),
        "synchronized batch normalization gradient");
}
void CudaBackend::layer_norm_forward(const LayerNormParams& p, const Tensor& x, const Tensor* gamma,
                                     const Tensor* beta, Tensor& mean, Tensor& inv_std, Tensor& y) {
  std::lock_guard lock(mutex_);
  check(api_.layer_norm_forward(ordinal_, &p, f32(x), f32(gamma), f32(beta), f32(mean), f32(inv_std), f32(y)),
        "layer normalization");
}
void CudaBackend::layer_norm_backward(const LayerNormParams& p, const Tensor& x, const Tensor& dy, const Tensor* gamma,
                                      const Tensor& mean, const Tensor& inv_std, Tensor* dx, Tensor* dgamma,
                                      Tensor* dbeta) {
  std::lock_guard lock(mutex_);
  check(api_.layer_norm_backward(ordinal_, &p, f32(x), f32(dy), f32(gamma), f32(mean), f32(inv_std), f32(dx),
                                 f32(dgamma), f32(dbeta)),
        "layer normalization gradient");
}

void CudaBackend::loss(const LossArgs& args, const Tensor& y_pred, const Tensor& y_true, Tensor& sample_loss,
                       Tensor* dy_pred) {
  const int64_t rows = y_pred.dim(0), cols = rows ? y_pred.numel() / rows : 0;
  std::lock_guard lock(mutex_);
  check(api_.loss(ordinal_, &args, f32(y_pred), y_true.raw_data(), rows, cols, f32(sample_loss), f32(dy_pred)),
        "loss");
}
void CudaBackend::metric(MetricKind kind, const Tensor& y_pred, const Tensor& y_true, Tensor& correct) {
  const int64_t rows = y_pred.dim(0), cols = rows ? y_pred.numel() / rows : 0;
  std::lock_guard lock(mutex_);
  check(api_.metric(ordinal_, kind, f32(y_pred), y_true.raw_data(), rows, cols, f32(correct)), "metric");
}
void CudaBackend::metric_counts(const MetricCountArgs& args, const Tensor& y_pred, const Tensor& y_true,
                                Tensor& counts) {
  const int64_t rows = y_pred.dim(0), cols = rows ? y_pred.numel() / rows : 0;
  std::lock_guard lock(mutex_);
  check(api_.metric_counts(ordinal_, &args, f32(y_pred), y_true.raw_data(), rows, cols, f32(counts)),
        "metric counts");
}
void CudaBackend::sum(const Tensor& x, Tensor& out) {
  std::lock_guard lock(mutex_);
  check(api_.sum(ordinal_, f32(x), x.numel(), f32(out)), "sum");
}
bool CudaBackend::all_finite(const Tensor& x) {
  std::lock_guard lock(mutex_);
  int finite = 1;
  check(api_.all_finite(ordinal_, f32(x), x.numel(), &finite), "finiteness check");
  return finite != 0;
}

void CudaBackend::axpby(float alpha, const Tensor& x, float beta, const Tensor& y, Tensor& out) {
  std::lock_guard lock(mutex_);
  check(api_.axpby(ordinal_, alpha, f32(x), beta, f32(y), f32(out), out.numel()), "axpby");
}
void CudaBackend::minmax(bool maximum, const Tensor& a, const Tensor& b, Tensor& out) {
  std::lock_guard lock(mutex_);
  check(api_.minmax(ordinal_, maximum, f32(a), f32(b), f32(out), out.numel()), maximum ? "maximum" : "minimum");
}
void CudaBackend::minmax_backward(bool maximum, const Tensor& a, const Tensor& b, const Tensor& dy, Tensor& da,
                                  Tensor& db) {
  std::lock_guard lock(mutex_);
  check(api_.minmax_backward(ordinal_, maximum, f32(a), f32(b), f32(dy), f32(da), f32(db), dy.numel()),
        maximum ? "maximum gradient" : "minimum gradient");
}
void CudaBackend::copy_block(const Tensor& src, int64_t src_cols, int64_t src_col, Tensor& dst, int64_t dst_cols,
                             int64_t dst_col, int64_t rows, int64_t cols) {
  std::lock_guard lock(mutex_);
  check(api_.copy_block(ordinal_, f32(src) + src_col, src_cols, f32(dst) + dst_col, dst_cols, rows, cols),
        "block copy");
}

void CudaBackend::spatial_copy2d(const SpatialCopy2DParams& p, const Tensor& src, Tensor& dst) {
  std::lock_guard lock(mutex_);
  check(api_.spatial_copy2d(ordinal_, &p, f32(src), f32(dst)), "spatial copy");
}
void CudaBackend::spatial_copy2d_backward(const SpatialCopy2DParams& p, const Tensor& ddst, Tensor& dsrc) {
  std::lock_guard lock(mutex_);
  check(api_.spatial_copy2d_backward(ordinal_, &p, f32(ddst), f32(dsrc)), "spatial copy gradient");
}

void CudaBackend::sgd_update(const SGDStep& s, Tensor& param, const Tensor& grad, Tensor* velocity) {
  std::lock_guard lock(mutex_);
  check(api_.sgd_update(ordinal_, &s, f32(param), f32(grad), f32(velocity), param.numel()), "SGD update");
}
void CudaBackend::adam_update(const AdamStep& s, Tensor& param, const Tensor& grad, Tensor& m, Tensor& v) {
  std::lock_guard lock(mutex_);
  check(api_.adam_update(ordinal_, &s, f32(param), f32(grad), f32(m), f32(v), param.numel()), "Adam update");
}
void CudaBackend::rmsprop_update(const RMSpropStep& s, Tensor& param, const Tensor& grad, Tensor& ms, Tensor* mom,
                                 Tensor* mg) {
  std::lock_guard lock(mutex_);
  check(api_.rmsprop_update(ordinal_, &s, f32(param), f32(grad), f32(ms), f32(mom), f32(mg), param.numel()),
        "RMSprop update");
}
void CudaBackend::optimizer_update(const OptimizerStep& s, Tensor& param, const Tensor& grad, Tensor* slots) {
  const int used = optimizer_rule_slots(s.rule);
  std::lock_guard lock(mutex_);
  check(api_.optimizer_update(ordinal_, &s, f32(param), f32(grad), f32(&slots[0]), used > 1 ? f32(&slots[1]) : nullptr,
                              used > 2 ? f32(&slots[2]) : nullptr, param.numel()),
        "optimizer update");
}

}  // namespace kerosene::backends::cuda_plugin
