// The C ABI between kerosene's core and its CUDA plugin (libkerosene_cuda.so).
//
// The core never links CUDA: it dlopen()s the plugin at start-up and calls the one exported
// function, kerosene_cuda_plugin(abi_version), which returns this table (or null when the ABI
// differs). So one build serves machines with and without GPUs, and every reason the plugin
// cannot load is a message the doctor can print. Only plain types cross the boundary: pointers,
// integers, and the POD parameter structs of backends/kernel_params.h.
//
// Conventions:
//  - `device` is the CUDA ordinal as the CUDA runtime numbers devices (after
//    CUDA_VISIBLE_DEVICES). Every call makes that device current on the calling thread.
//  - Every int-returning function returns a Status; on failure, last_error() (thread-local in the
//    plugin) describes it in words: the CUDA/cuBLAS/cuDNN error name and text, and the call.
//  - Kernels are queued on the device's one stream (created at first use) and return without
//    waiting, except where a function says it waits. Because every kernel of a device runs on
//    that one stream, in order, the core's caching allocator may hand a block freed on the host
//    to the next kernel at once, as PyTorch's allocator does.
//  - Tensors are dense, row-major (NHWC for images, HWIO for convolution kernels: Keras'
//    layouts, as on the CPU). Pointers named in kernels are device pointers.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/kernel_params.h"
#include "kerosene/dtype.h"

namespace kerosene::backends::cuda_abi {

// 2: InitOptions serves scratch memory; 3: ActivationParams; 4: merge kernels; 5: normalization
// kernels; 6: spatial copies, Conv2DParams' dilation; 7: Conv2DParams' groups (depthwise);
// 8: synchronized batch normalization; 9: optimizer_update (OptimizerStep); 10: LossArgs'
// label_smoothing and delta, Keras' other losses, the mae/mse metric kinds; 11: metric_counts
// (MetricCountArgs: top-k, AUC, F-beta, confusion matrix);
// 12: scale_rows (sample weights); 13: ComputeMode (16-bit compute, TF32) for matmul and conv2d.
inline constexpr int kAbiVersion = 13;
/// The exported symbol: extern "C" const Plugin* kerosene_cuda_plugin(int abi_version).
inline constexpr const char* kEntryPoint = "kerosene_cuda_plugin";

enum Status : int {
  kOk = 0,
  kError = 1,         ///< any CUDA, cuBLAS or cuDNN failure; see last_error()
  kOutOfMemory = 2,   ///< allocate() could not get the memory (not an error of the device)
  kNoDriver = 3,      ///< init(): the driver is missing or older than the runtime
  kNoDevice = 4,      ///< init(): the driver works but shows no device
};

struct InitOptions {
  /// Use the stream-ordered allocator (cudaMallocAsync/cudaFreeAsync on the device's stream)
  /// for native allocations instead of cudaMalloc/cudaFree.
  int stream_ordered_allocator;
  /// The plugin's device scratch memory (cuBLASLt and cuDNN workspaces, padded copies, partial
  /// sums) from the core's allocator, so that it counts in the device's memory statistics and
  /// against its memory limit like any tensor. scratch_allocate returns null when it cannot
  /// serve `bytes`, with the reason in `error` (a C string of at most error_size bytes); the
  /// block is used on the device's stream only. Null functions: cudaMalloc/cudaFree.
  void* (*scratch_allocate)(int device, size_t bytes, char* error, size_t error_size);
  void (*scratch_free)(int device, void* ptr);
};

struct DeviceInfo {
  char name[256];
  char uuid[64];        ///< "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" as nvidia-smi prints it
  char pci_bus_id[32];  ///< "0000:3b:00.0"
  int compute_major, compute_minor;
  int multiprocessor_count;
  size_t total_memory;  ///< bytes
  size_t free_memory;   ///< 0: not read (discovery creates no CUDA context); see mem_get_info
};

/// Versions as integers the libraries use: CUDA 13.0 -> 13000, cuDNN 9.13.0 -> 91300,
/// NCCL 2.28.3 -> 22803; cuBLAS as major*10000 + minor*100 + patch. 0: unknown / absent.
struct Versions {
  int built_cuda_runtime;  ///< CUDART_VERSION the plugin was compiled with
  int built_cublas;
  int built_cudnn;
  int runtime;             ///< cudaRuntimeGetVersion
  int driver;              ///< cudaDriverGetVersion (0 when no driver is installed)
  int cublas;              ///< the loaded cuBLAS (cublasGetProperty)
  int cudnn;               ///< the loaded cuDNN (cudnnGetVersion)
  /// Compute capabilities with native code, then those with PTX, e.g. "sm_80 sm_90 compute_90".
  char architectures[128];
};

/// How a matmul or convolution multiplies; its tensors are float32 in and out either way.
/// precision bfloat16/float16: the operands are converted to that type on the device (scratch
/// memory) and multiplied with float32 accumulation. allow_tf32 (float32 only): TensorFloat-32
/// tensor cores may round the operands to 10 bits of mantissa (cuBLAS FAST_TF32, cuDNN
/// tensor-op math); 0 keeps full float32 (FMA) arithmetic.
struct ComputeMode {
  ComputePrecision precision;
  int allow_tf32;
};

/// c = op(a) @ op(b) (+ bias broadcast over rows) (+ c if accumulate), then `fused` (linear or
/// relu). a is m x k (k x m when transpose_a), b is k x n (n x k when transpose_b), c is m x n.
struct MatmulArgs {
  const float* a;
  const float* b;
  const float* bias;  ///< n values or null
  float* c;
  int64_t m, n, k;
  int transpose_a, transpose_b, accumulate;
  ActivationKind fused;
  ComputeMode mode;
};

struct Plugin {
  int abi_version;
  /// The last failure on this thread, in words ("" when none).
  const char* (*last_error)();
  /// Works without a driver and without a device.
  void (*versions)(Versions* out);

  /// Initializes the CUDA runtime and counts devices. kNoDriver / kNoDevice / kError with the
  /// runtime's own message in last_error(). May be called again; returns the same answer.
  int (*init)(const InitOptions* options, int* device_count);
  /// The device's properties, read without creating a CUDA context (no cudaSetDevice, no
  /// cudaMemGetInfo): loading the plugin must not take memory on every GPU.
  int (*device_info)(int device, DeviceInfo* out);

  // --- memory (allocate returns kOutOfMemory, not kError, when the device is full) ------------
  int (*mem_get_info)(int device, size_t* free_bytes, size_t* total_bytes);
  int (*allocate)(int device, size_t bytes, void** ptr);
  int (*deallocate)(int device, void* ptr);
  /// Host -> device. Returns once `src` may be reused: pageable data is staged through a ring of
  /// pinned buffers and copied asynchronously, so the host can prepare the next batch while
  /// the device works.
  int (*copy_from_host)(int device, void* dst, const void* src, size_t bytes);
  /// Device -> host; waits for the copy (and everything queued before it).
  int (*copy_to_host)(int device, void* dst, const void* src, size_t bytes);
  int (*copy_on_device)(int device, void* dst, const void* src, size_t bytes);
  /// Waits for everything queued on the device's stream.
  int (*synchronize)(int device);
  /// Pinned (page-locked) host memory, from which a copy needs no staging: batches are gathered
  /// straight into it (train/batch_buffers.cpp). host_alloc returns kOutOfMemory when the
  /// system has no more page-locked memory to give.
  int (*host_alloc)(size_t bytes, void** ptr);
  int (*host_free)(void* ptr);
  /// Host (pinned, from host_alloc) -> device: queued on the device's stream after the kernels
  /// queued before it (which may still read dst), and returns at once. `*fence` (null the first
  /// time: made here, then reused for this buffer) is recorded after the copy: src must not be
  /// written until fence_wait(*fence) returns.
  int (*copy_from_pinned)(int device, void* dst, const void* src, size_t bytes, void** fence);
  int (*fence_wait)(void* fence);
  int (*fence_destroy)(void* fence);

  // --- element-wise (n elements) --------------------------------------------------------------
  int (*fill)(int device, float* out, int64_t n, float value);
  /// out = in * scale converted to out_dtype (float32/int32/int64/uint8 both ways; float to
  /// integer truncates as a C cast does; scale applies when out is float32).
  int (*cast)(int device, const void* in, DType in_dtype, void* out, DType out_dtype, int64_t n,
              float scale);
  /// Activations over rows x cols x inner elements; softmax normalizes each vector of `cols`
  /// values `inner` apart (inner 1: the rows). dx from dy and the output y, or the input x for
  /// the kinds backward_reads_input names (the other pointer is not read); dx may alias dy.
  int (*activation_forward)(int device, const ActivationParams* a, const float* x, float* y,
                            int64_t rows, int64_t cols, int64_t inner);
  int (*activation_backward)(int device, const ActivationParams* a, const float* x, const float* y,
                             const float* dy, float* dx, int64_t rows, int64_t cols, int64_t inner);
  /// mask[i] = 0 or 1/(1-rate), drawn exactly as the CPU backend draws it (math/random.h, same
  /// seed and offset give the same mask); y = x * mask.
  int (*dropout_forward)(int device, const float* x, float* mask, float* y, int64_t n, float rate,
                         uint64_t seed, uint64_t offset);
  int (*multiply)(int device, const float* a, const float* b, float* out, int64_t n);
  /// out[r * cols + j] = x[r * cols + j] * w[r]; out may alias x.
  int (*scale_rows)(int device, const float* x, const float* w, float* out, int64_t rows, int64_t cols);

  // --- dense algebra --------------------------------------------------------------------------
  int (*matmul)(int device, const MatmulArgs* args);
  /// db[j] = sum over rows of dy[r * cols + j].
  int (*bias_grad)(int device, const float* dy, int64_t rows, int64_t cols, float* db);
  /// The convolutions multiply as `mode` says. Under 16-bit compute cuDNN writes y, dx and dw
  /// in the 16-bit type, so they are rounded to it before being widened back to float32.
  int (*conv2d_forward)(int device, const Conv2DParams* p, const float* x, const float* w,
                        const float* bias, float* y, ActivationKind fused, ComputeMode mode);
  int (*conv2d_backward_data)(int device, const Conv2DParams* p, const float* dy, const float* w,
                              float* dx, ComputeMode mode);
  /// dw (HWIO) and, when db is not null, db (out_c; summed in float32 from float32 dy).
  int (*conv2d_backward_weights)(int device, const Conv2DParams* p, const float* x,
                                 const float* dy, float* dw, float* db, ComputeMode mode);
  int (*pool2d_forward)(int device, const Pool2DParams* p, const float* x, float* y);
  /// Max pooling routes each gradient to the first maximum of its window (x compared with y).
  int (*pool2d_backward)(int device, const Pool2DParams* p, const float* x, const float* y,
                         const float* dy, float* dx);

  // --- normalization (gamma, beta: null for none, meaning 1 and 0) ----------------------------
  /// x and y are p->rows x p->channels; mean, inv_std, the moving statistics and gamma/beta have
  /// p->channels values. Training: mean and inv_std of the batch (biased variance), and the
  /// moving statistics updated; otherwise mean and inv_std from the moving statistics.
  int (*batch_norm_forward)(int device, const BatchNormParams* p, const float* x, const float* gamma,
                            const float* beta, float* moving_mean, float* moving_variance, float* mean,
                            float* inv_std, float* y);
  /// dgamma = sum(dy * x_hat), dbeta = sum(dy) per channel (always written); dx when not null.
  int (*batch_norm_backward)(int device, const BatchNormParams* p, const float* x, const float* dy,
                             const float* gamma, const float* mean, const float* inv_std, float* dx,
                             float* dgamma, float* dbeta);
  /// Synchronized batch normalization (Backend::batch_norm_sums and the two that follow):
  /// sums (2C + 1 values, C = p->channels) = [sum d, sum d^2 per channel, p->rows], d = x - shift
  /// (C values); p->rows may be 0.
  int (*batch_norm_sums)(int device, const BatchNormParams* p, const float* x, const float* shift, float* sums);
  /// Training forward with the statistics of sums added over every replica (count = sums[2C],
  /// mean = shift + sum d / count); updates the moving statistics (shift may be moving_mean);
  /// writes mean, inv_std, and y when x and y are not null.
  int (*batch_norm_forward_from_sums)(int device, const BatchNormParams* p, const float* sums, const float* shift,
                                      const float* x,
                                      const float* gamma, const float* beta, float* moving_mean,
                                      float* moving_variance, float* mean, float* inv_std, float* y);
  /// dx of that forward; grad_sums (2C) = [sum dy, sum dy * x_hat] over every replica, count =
  /// batch_sums[2C].
  int (*batch_norm_backward_from_sums)(int device, const BatchNormParams* p, const float* x, const float* dy,
                                       const float* gamma, const float* mean, const float* inv_std,
                                       const float* batch_sums, const float* grad_sums, float* dx);
  /// x and y are p->rows x p->cols; mean and inv_std have p->rows values, gamma/beta p->cols.
  int (*layer_norm_forward)(int device, const LayerNormParams* p, const float* x, const float* gamma,
                            const float* beta, float* mean, float* inv_std, float* y);
  /// dx, dgamma, dbeta: each written when not null.
  int (*layer_norm_backward)(int device, const LayerNormParams* p, const float* x, const float* dy,
                             const float* gamma, const float* mean, const float* inv_std, float* dx,
                             float* dgamma, float* dbeta);

  // --- losses and metrics (rows x cols predictions) -------------------------------------------
  /// y_true: int32 class ids (rows) for the sparse loss, else float32 rows x cols.
  /// sample_loss: rows values; dy_pred (rows x cols) when not null.
  int (*loss)(int device, const LossArgs* args, const float* y_pred, const void* y_true,
              int64_t rows, int64_t cols, float* sample_loss, float* dy_pred);
  /// y_true as for loss(); correct: rows values of 0 or 1.
  int (*metric)(int device, MetricKind kind, const float* y_pred, const void* y_true,
                int64_t rows, int64_t cols, float* correct);
  /// counts (metric_count_size(*args, cols) floats) = the batch's counts, overwritten. y_true:
  /// rows x args->true_cols, int32 when args->y_true_int32, else float32.
  int (*metric_counts)(int device, const MetricCountArgs* args, const float* y_pred, const void* y_true,
                       int64_t rows, int64_t cols, float* counts);
  /// out (one float on the device) = sum of x.
  int (*sum)(int device, const float* x, int64_t n, float* out);
  /// *all_finite (host) = whether every element is finite; waits.
  int (*all_finite)(int device, const float* x, int64_t n, int* all_finite);

  // --- merging (the Functional API's merge layers; n elements) --------------------------------
  /// out = alpha * x + beta * y; y is not read when beta is 0; out may alias x or y.
  int (*axpby)(int device, float alpha, const float* x, float beta, const float* y, float* out, int64_t n);
  /// out = max(a, b) (min when !maximum); ties keep a.
  int (*minmax)(int device, bool maximum, const float* a, const float* b, float* out, int64_t n);
  /// da = dy where a wins or ties, else 0; db = the rest.
  int (*minmax_backward)(int device, bool maximum, const float* a, const float* b, const float* dy, float* da,
                         float* db, int64_t n);
  /// dst[r * dst_cols + c] = src[r * src_cols + c] for r < rows, c < cols (the caller offsets the
  /// pointers to the first column).
  int (*copy_block)(int device, const float* src, int64_t src_cols, float* dst, int64_t dst_cols, int64_t rows,
                    int64_t cols);

  // --- spatial copies (ZeroPadding2D, Cropping2D, UpSampling2D; see SpatialCopy2DParams) ------
  /// dst (batch, out_h, out_w, channels), every element written, from src (batch, in_h, in_w,
  /// channels).
  int (*spatial_copy2d)(int device, const SpatialCopy2DParams* p, const float* src, float* dst);
  /// The adjoint: dsrc (src's shape), every element written, from ddst (dst's shape).
  int (*spatial_copy2d_backward)(int device, const SpatialCopy2DParams* p, const float* ddst, float* dsrc);

  // --- optimizers (n elements; optional state pointers may be null) ---------------------------
  int (*sgd_update)(int device, const SGDStep* s, float* param, const float* grad,
                    float* velocity, int64_t n);
  int (*adam_update)(int device, const AdamStep* s, float* param, const float* grad, float* m,
                     float* v, int64_t n);
  int (*rmsprop_update)(int device, const RMSpropStep* s, float* param, const float* grad,
                        float* ms, float* mom, float* mg, int64_t n);
  /// Adam with amsgrad, Nadam, Adamax, Adagrad, Lion (s->rule); slots past
  /// optimizer_rule_slots(s->rule) are null.
  int (*optimizer_update)(int device, const OptimizerStep* s, float* param, const float* grad, float* slot0,
                          float* slot1, float* slot2, int64_t n);

  // --- NCCL (libnccl.so.2 is dlopen()ed by the plugin on first use, so the plugin loads and
  //     runs single-GPU work without it; every function below returns kError, with the loader's
  //     text in last_error(), when NCCL cannot be loaded) -----------------------------------
  //
  // Communicators are NCCL's own (blocking) ncclComm_t, passed as void*. NCCL's rules hold:
  // a communicator is used by one thread at a time; group_start/group_end are per thread (one
  // thread driving every device of nccl_comm_init_all brackets its all-reduces with them).
  //
  // A lost peer: when another rank's process dies or hangs, NCCL does not time out. A queued
  // all-reduce never finishes, so whatever waits for the device's stream afterwards
  // (synchronize, copy_to_host, all_finite) blocks forever, and so may nccl_comm_init_rank and
  // nccl_comm_destroy. The plugin sets no timer: the core watches the time and, when it gives
  // up on a worker, calls nccl_comm_abort on the communicator from another thread, which stops
  // NCCL's kernels so the blocked wait returns (the data of the aborted all-reduce are then
  // undefined, and the communicator is gone). A hung nccl_comm_init_rank cannot be aborted
  // this way (there is no communicator yet): only ending the process frees it.
  /// NCCL's version code of the loaded library (e.g. 22809).
  int (*nccl_version)(int* version);
  /// A fresh unique id (ncclGetUniqueId), 128 bytes (NCCL_UNIQUE_ID_BYTES), for nccl_comm_init_rank.
  int (*nccl_unique_id)(char* id128);
  /// One communicator per device of this process (ncclCommInitAll): comms[i] drives devices[i].
  int (*nccl_comm_init_all)(int count, const int* devices, void** comms);
  /// This process's communicator on `device`, as `rank` of `nranks` (ncclCommInitRank); blocks
  /// until every rank has joined. Several threads of one process may call it concurrently,
  /// one per device.
  int (*nccl_comm_init_rank)(int device, int nranks, const char* id128, int rank, void** comm);
  /// In-place sum of `count` floats across the communicator's ranks, queued on the device's
  /// communication stream after the work queued so far on its compute stream (ncclAllReduce
  /// with ncclFloat32, ncclSum; see nccl_join); returns without waiting.
  /// Fails at once, without queuing, when NCCL has already reported an asynchronous error on
  /// the communicator (ncclCommGetAsyncError: e.g. a peer is gone); the communicator is then
  /// unusable and should be aborted.
  int (*nccl_all_reduce)(int device, void* comm, float* data, int64_t count);
  /// ncclGroupStart / ncclGroupEnd: the calls between them (on this thread) are launched
  /// together at group_end, as driving several devices from one thread requires.
  int (*nccl_group_start)();
  int (*nccl_group_end)();
  /// ncclCommDestroy: frees the communicator after its queued work; null is a no-op. May block
  /// when a peer is lost (see above); abort instead when giving up on a worker.
  int (*nccl_comm_destroy)(void* comm);
  /// ncclCommAbort: stops the communicator's work on the device and frees it without waiting
  /// for peers; null is a no-op. For the core to call when it gives up on a lost worker, also
  /// from another thread than the one blocked on the device.
  int (*nccl_comm_abort)(void* comm);
  /// nccl_all_reduce queues on the device's communication stream, after the kernels queued so
  /// far on its compute stream, so all-reduces overlap the work queued after them. This makes
  /// the compute stream wait for every all-reduce queued so far (call it before the optimizer
  /// step reads the summed gradients); returns without waiting.
  int (*nccl_join)(int device);
};

}  // namespace kerosene::backends::cuda_abi

extern "C" {
/// Returns the plugin's table, or null when `abi_version` is not the plugin's.
using kerosene_cuda_plugin_fn = const kerosene::backends::cuda_abi::Plugin* (*)(int abi_version);
}
