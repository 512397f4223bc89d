// The functions behind the plugin's table (plugin_api.h), one declaration per entry, defined
// in the file named beside each group. plugin_entry.cpp puts them in the table.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cuda/plugin_api.h"

namespace kerosene::backends::cuda_impl {

using cuda_abi::ComputeMode;
using cuda_abi::DeviceInfo;
using cuda_abi::InitOptions;
using cuda_abi::MatmulArgs;
using cuda_abi::Versions;

// plugin_entry.cpp
const char* last_error();
void versions(Versions* out);
int init(const InitOptions* options, int* device_count);
int device_info(int device, DeviceInfo* out);
int mem_get_info(int device, size_t* free_bytes, size_t* total_bytes);

// memory.cpp
int allocate(int device, size_t bytes, void** ptr);
int deallocate(int device, void* ptr);
int copy_from_host(int device, void* dst, const void* src, size_t bytes);
int copy_to_host(int device, void* dst, const void* src, size_t bytes);
int copy_on_device(int device, void* dst, const void* src, size_t bytes);
int synchronize(int device);
int host_alloc(size_t bytes, void** ptr);
int host_free(void* ptr);
int copy_from_pinned(int device, void* dst, const void* src, size_t bytes, void** fence);
int fence_wait(void* fence);
int fence_destroy(void* fence);

// elementwise.cu
int fill(int device, float* out, int64_t n, float value);
int cast(int device, const void* in, DType in_dtype, void* out, DType out_dtype, int64_t n, float scale);
int dropout_forward(int device, const float* x, float* mask, float* y, int64_t n, float rate, uint64_t seed,
                    uint64_t offset);
int multiply(int device, const float* a, const float* b, float* out, int64_t n);
int scale_rows(int device, const float* x, const float* w, float* out, int64_t rows, int64_t cols);

// activations.cu
int activation_forward(int device, const ActivationParams* a, const float* x, float* y, int64_t rows, int64_t cols,
                       int64_t inner);
int activation_backward(int device, const ActivationParams* a, const float* x, const float* y, const float* dy,
                        float* dx, int64_t rows, int64_t cols, int64_t inner);

// matmul.cpp
int matmul(int device, const MatmulArgs* args);

// reductions.cu
int bias_grad(int device, const float* dy, int64_t rows, int64_t cols, float* db);
int sum(int device, const float* x, int64_t n, float* out);
int all_finite(int device, const float* x, int64_t n, int* all_finite);

// merge.cu
int axpby(int device, float alpha, const float* x, float beta, const float* y, float* out, int64_t n);
int minmax(int device, bool maximum, const float* a, const float* b, float* out, int64_t n);
int minmax_backward(int device, bool maximum, const float* a, const float* b, const float* dy, float* da, float* db,
                    int64_t n);
int copy_block(int device, const float* src, int64_t src_cols, float* dst, int64_t dst_cols, int64_t rows,
               int64_t cols);

// conv.cpp
int conv2d_forward(int device, const Conv2DParams* p, const float* x, const float* w, const float* bias, float* y,
                   ActivationKind fused, ComputeMode mode);
int conv2d_backward_data(int device, const Conv2DParams* p, const float* dy, const float* w, float* dx,
                         ComputeMode mode);
int conv2d_backward_weights(int device, const Conv2DParams* p, const float* x, const float* dy, float* dw,
                            float* db, ComputeMode mode);

// pooling.cu
int pool2d_forward(int device, const Pool2DParams* p, const float* x, float* y);
int pool2d_backward(int device, const Pool2DParams* p, const float* x, const float* y, const float* dy, float* dx);

// normalization.cu
int batch_norm_forward(int device, const BatchNormParams* p, const float* x, const float* gamma, const float* beta,
                       float* moving_mean, float* moving_variance, float* mean, float* inv_std, float* y);
int batch_norm_backward(int device, const BatchNormParams* p, const float* x, const float* dy, const float* gamma,
                        const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta);
int batch_norm_sums(int device, const BatchNormParams* p, const float* x, const float* shift, float* sums);
int batch_norm_forward_from_sums(int device, const BatchNormParams* p, const float* sums, const float* shift,
                                 const float* x,
                                 const float* gamma, const float* beta, float* moving_mean, float* moving_variance,
                                 float* mean, float* inv_std, float* y);
int batch_norm_backward_from_sums(int device, const BatchNormParams* p, const float* x, const float* dy,
                                  const float* gamma, const float* mean, const float* inv_std,
                                  const float* batch_sums, const float* grad_sums, float* dx);
int layer_norm_forward(int device, const LayerNormParams* p, const float* x, const float* gamma, const float* beta,
                       float* mean, float* inv_std, float* y);
int layer_norm_backward(int device, const LayerNormParams* p, const float* x, const float* dy, const float* gamma,
                        const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta);

// losses.cu
int loss(int device, const LossArgs* args, const float* y_pred, const void* y_true, int64_t rows, int64_t cols,
         float* sample_loss, float* dy_pred);
int metric(int device, MetricKind kind, const float* y_pred, const void* y_true, int64_t rows, int64_t cols,
           float* correct);

// metric_counts.cu
int metric_counts(int device, const MetricCountArgs* args, const float* y_pred, const void* y_true, int64_t rows,
                  int64_t cols, float* counts);

// spatial.cu
int spatial_copy2d(int device, const SpatialCopy2DParams* p, const float* src, float* dst);
int spatial_copy2d_backward(int device, const SpatialCopy2DParams* p, const float* ddst, float* dsrc);

// optimizers.cu
int sgd_update(int device, const SGDStep* s, float* param, const float* grad, float* velocity, int64_t n);
int adam_update(int device, const AdamStep* s, float* param, const float* grad, float* m, float* v, int64_t n);
int rmsprop_update(int device, const RMSpropStep* s, float* param, const float* grad, float* ms, float* mom,
                   float* mg, int64_t n);
int optimizer_update(int device, const OptimizerStep* s, float* param, const float* grad, float* slot0, float* slot1,
                     float* slot2, int64_t n);

// nccl.cpp
int nccl_version(int* version);
int nccl_unique_id(char* id128);
int nccl_comm_init_all(int count, const int* devices, void** comms);
int nccl_comm_init_rank(int device, int nranks, const char* id128, int rank, void** comm);
int nccl_all_reduce(int device, void* comm, float* data, int64_t count);
int nccl_group_start();
int nccl_group_end();
int nccl_comm_destroy(void* comm);
int nccl_comm_abort(void* comm);
int nccl_join(int device);

}  // namespace kerosene::backends::cuda_impl
