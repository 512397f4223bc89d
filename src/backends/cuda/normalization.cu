// BatchNormalization and LayerNormalization, with the arithmetic of backends/cpu/normalization.cpp:
// statistics summed in double, BatchNorm's mean and variance from sums shifted by the first row
// (one pass, no cancellation when |mean| >> std), y = x * scale + shift.
//
// Own kernels rather than cuDNN's batch normalization: Keras' moving-average update and biased
// variance, an inference-mode backward, and layer normalization are each a few lines here. The
// per-channel (per-column) sums go through per-chunk partials added in a fixed order (as
// reductions.cu does), so results do not depend on scheduling.
#include <cstdint>

#include "backends/cuda/device_state.h"
#include "backends/cuda/launch.cuh"
#include "backends/cuda/plugin_functions.h"
#include "backends/cuda/status.h"

namespace kerosene::backends::cuda_impl {
namespace {

constexpr int kTileCols = 32, kTileRows = 8;  // column-sum blocks: 32 columns x 8 row lanes
constexpr int64_t kMaxRowChunks = 64;
constexpr int64_t kMinRowsPerChunk = 256;

// --- two column sums over rows, in double ------------------------------------------------------

// Terms(r, c, a, b) adds row r's terms of column c to a and b.
// partial[(chunk * 2 + k) * cols + c]: sum k of column c over the rows of chunk blockIdx.y.
template <typename Terms>
__global__ void column_partials_kernel(Terms terms, int64_t rows, int64_t cols, int64_t rows_per_chunk,
                                       double* partial) {
  __shared__ double sa[kTileRows][kTileCols + 1], sb[kTileRows][kTileCols + 1];
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * rows_per_chunk;
  const int64_t r1 = r0 + rows_per_chunk < rows ? r0 + rows_per_chunk : rows;
  for (int64_t tile = blockIdx.x; tile * kTileCols < cols; tile += gridDim.x) {
    const int64_t c = tile * kTileCols + threadIdx.x;
    double a = 0.0, b = 0.0;
    if (c < cols) {
      for (int64_t r = r0 + threadIdx.y; r < r1; r += kTileRows) terms(r, c, a, b);
    }
    sa[threadIdx.y][threadIdx.x] = a;
    sb[threadIdx.y][threadIdx.x] = b;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
      double ta = sa[0][threadIdx.x], tb = sb[0][threadIdx.x];
      for (int k = 1; k < kTileRows; ++k) {
        ta += sa[k][threadIdx.x];
        tb += sb[k][threadIdx.x];
      }
      partial[(static_cast<int64_t>(blockIdx.y) * 2) * cols + c] = ta;
      partial[(static_cast<int64_t>(blockIdx.y) * 2 + 1) * cols + c] = tb;
    }
    __syncthreads();
  }
}

__device__ __forceinline__ void chunk_totals(const double* partial, int64_t chunks, int64_t cols, int64_t c,
                                             double& a, double& b) {
  a = 0.0;
  b = 0.0;
  for (int64_t k = 0; k < chunks; ++k) {
    a += partial[(k * 2) * cols + c];
    b += partial[(k * 2 + 1) * cols + c];
  }
}

// x - x[0, c] and its square.
struct ShiftedMoments {
  const float* x;
  int64_t cols;
  __device__ void operator()(int64_t r, int64_t c, double& a, double& b) const {
    const double d = static_cast<double>(x[r * cols + c]) - x[c];
    a += d;
    b += d * d;
  }
};

// dy and dy * x_hat, x_hat with per-column (BatchNorm) or per-row (LayerNorm) statistics.
template <bool kPerRow>
struct GradientTerms {
  const float *x, *dy, *mean, *inv_std;
  int64_t cols;
  __device__ void operator()(int64_t r, int64_t c, double& a, double& b) const {
    const int64_t i = r * cols + c, s = kPerRow ? r : c;
    const float g = dy[i];
    a += g;
    b += static_cast<double>(g) * ((x[i] - mean[s]) * inv_std[s]);
  }
};

/// Queues column_partials_kernel over rows x cols; *partial and *chunks say where the sums are.
/// Caller holds state.mutex (uses state.reduce).
template <typename Terms>
int column_partials(DeviceState& state, const Terms& terms, int64_t rows, int64_t cols, double** partial,
                    int64_t* chunks) {
  int64_t n = (rows + kMinRowsPerChunk - 1) / kMinRowsPerChunk;
  n = n < 1 ? 1 : (n < kMaxRowChunks ? n : kMaxRowChunks);
  const int64_t rows_per_chunk = (rows + n - 1) / n;
  KEROSENE_TRY(reserve(state, state.reduce, static_cast<size_t>(n * 2 * cols) * sizeof(double)));
  *partial = static_cast<double*>(state.reduce.ptr);
  *chunks = n;
  const dim3 grid(blocks_for(cols, kTileCols), static_cast<unsigned>(n));
  column_partials_kernel<<<grid, dim3(kTileCols, kTileRows), 0, state.stream>>>(terms, rows, cols, rows_per_chunk,
                                                                                *partial);
  return check_launch("column_partials");
}

// --- BatchNormalization ------------------------------------------------------------------------

__global__ void batch_stats_kernel(BatchNormParams p, const double* partial, int64_t chunks, const float* x,
                                   float* moving_mean, float* moving_variance, float* mean, float* inv_std) {
  for (int64_t c = global_thread(); c < p.channels; c += thread_count()) {
    double a, b;
    chunk_totals(partial, chunks, p.channels, c, a, b);
    const double mean_d = a / p.rows;
    const double v = b / p.rows - mean_d * mean_d;
    const float variance = static_cast<float>(v > 0.0 ? v : 0.0);
    mean[c] = static_cast<float>(x[c] + mean_d);
    inv_std[c] = 1.0f / sqrtf(variance + p.epsilon);
    moving_mean[c] = moving_mean[c] * p.momentum + mean[c] * (1.0f - p.momentum);
    moving_variance[c] = moving_variance[c] * p.momentum + variance * (1.0f - p.momentum);
  }
}

__global__ void moving_stats_kernel(BatchNormParams p, const float* moving_mean, const float* moving_variance,
                                    float* mean, float* inv_std) {
  for (int64_t c = global_thread(); c < p.channels; c += thread_count()) {
    mean[c] = moving_mean[c];
    inv_std[c] = 1.0f / sqrtf(moving_variance[c] + p.epsilon);
  }
}

__global__ void batch_norm_apply_kernel(const float* x, const float* gamma, const float* beta, const float* mean,
                                        const float* inv_std, float* y, int64_t n, int64_t channels) {
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const int64_t c = i % channels;
    const float scale = gamma ? inv_std[c] * gamma[c] : inv_std[c];
    const float shift = (beta ? beta[c] : 0.0f) - mean[c] * scale;
    y[i] = x[i] * scale + shift;
  }
}

__global__ void batch_grad_sums_kernel(const double* partial, int64_t chunks, int64_t channels, float* dgamma,
                                       float* dbeta) {
  for (int64_t c = global_thread(); c < channels; c += thread_count()) {
    double a, b;
    chunk_totals(partial, chunks, channels, c, a, b);
    dbeta[c] = static_cast<float>(a);
    dgamma[c] = static_cast<float>(b);
  }
}

// Training: dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat)); inference: the
// statistics are constants, dx = gamma * inv_std * dy.
__global__ void batch_norm_dx_kernel(BatchNormParams p, const float* x, const float* dy, const float* gamma,
                                     const float* mean, const float* inv_std, const float* dgamma,
                                     const float* dbeta, float* dx) {
  const int64_t n = p.rows * p.channels;
  const float rows = static_cast<float>(p.rows);
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const int64_t c = i % p.channels;
    const float k = gamma ? gamma[c] * inv_std[c] : inv_std[c];
    const float mean_dy = p.training ? dbeta[c] / rows : 0.0f;
    const float mean_dy_xhat = p.training ? dgamma[c] / rows : 0.0f;
    const float x_hat = (x[i] - mean[c]) * inv_std[c];
    dx[i] = k * (dy[i] - mean_dy - x_hat * mean_dy_xhat);
  }
}

// --- synchronized BatchNormalization: statistics from sums added across replicas -------------

// x - shift[c] and its square: a shift every replica shares (not a row of its own, as
// ShiftedMoments takes).
struct CommonShiftMoments {
  const float *x, *shift;
  int64_t cols;
  __device__ void operator()(int64_t r, int64_t c, double& a, double& b) const {
    const double d = static_cast<double>(x[r * cols + c]) - shift[c];
    a += d;
    b += d * d;
  }
};

__global__ void batch_sums_kernel(const double* partial, int64_t chunks, int64_t channels, int64_t rows,
                                  float* sums) {
  for (int64_t c = global_thread(); c < channels; c += thread_count()) {
    double a, b;
    chunk_totals(partial, chunks, channels, c, a, b);
    sums[c] = static_cast<float>(a);
    sums[channels + c] = static_cast<float>(b);
    if (c == 0) sums[2 * channels] = static_cast<float>(rows);
  }
}

__global__ void stats_from_sums_kernel(BatchNormParams p, const float* sums, const float* shift, float* moving_mean,
                                       float* moving_variance, float* mean, float* inv_std) {
  const int64_t C = p.channels;
  const double count = sums[2 * C] > 1.0f ? sums[2 * C] : 1.0;  // 0 only if no replica had rows
  for (int64_t c = global_thread(); c < C; c += thread_count()) {
    const double mean_d = sums[c] / count;
    const double v = sums[C + c] / count - mean_d * mean_d;
    const float variance = static_cast<float>(v > 0.0 ? v : 0.0);
    mean[c] = static_cast<float>(shift[c] + mean_d);  // before moving_mean[c] changes: shift may be it
    inv_std[c] = 1.0f / sqrtf(variance + p.epsilon);
    moving_mean[c] = moving_mean[c] * p.momentum + mean[c] * (1.0f - p.momentum);
    moving_variance[c] = moving_variance[c] * p.momentum + variance * (1.0f - p.momentum);
  }
}

__global__ void batch_norm_dx_from_sums_kernel(BatchNormParams p, const float* x, const float* dy,
                                               const float* gamma, const float* mean, const float* inv_std,
                                               const float* batch_sums, const float* grad_sums, float* dx) {
  const int64_t n = p.rows * p.channels, C = p.channels;
  const float count = batch_sums[2 * C] > 1.0f ? batch_sums[2 * C] : 1.0f;
  for (int64_t i = global_thread(); i < n; i += thread_count()) {
    const int64_t c = i % C;
    const float k = gamma ? gamma[c] * inv_std[c] : inv_std[c];
    const float x_hat = (x[i] - mean[c]) * inv_std[c];
    dx[i] = k * (dy[i] - grad_sums[c] / count - x_hat * (grad_sums[C + c] / count));
  }
}

// --- LayerNormalization: one warp per row ------------------------------------------------------

__device__ __forceinline__ double warp_sum_double(double v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__global__ void layer_norm_forward_kernel(LayerNormParams p, const float* x, const float* gamma, const float* beta,
                                          float* mean, float* inv_std, float* y) {
  const int64_t C = p.cols;
  for (int64_t r = global_warp(); r < p.rows; r += warp_count()) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    double sum = 0.0;
    for (int64_t j = lane(); j < C; j += kWarp) sum += xr[j];
    const double mu = warp_sum_double(sum) / C;
    double sq = 0.0;
    for (int64_t j = lane(); j < C; j += kWarp) sq += (xr[j] - mu) * (xr[j] - mu);
    const float m = static_cast<float>(mu);
    const float s = 1.0f / sqrtf(static_cast<float>(warp_sum_double(sq) / C) + p.epsilon);
    if (lane() == 0) {
      mean[r] = m;
      inv_std[r] = s;
    }
    for (int64_t j = lane(); j < C; j += kWarp) {
      const float scale = gamma ? s * gamma[j] : s;
      yr[j] = xr[j] * scale + ((beta ? beta[j] : 0.0f) - m * scale);
    }
  }
}

// Per row, with g = dy * gamma: dx = inv_std * (g - mean(g) - x_hat * mean(g * x_hat)).
__global__ void layer_norm_dx_kernel(LayerNormParams p, const float* x, const float* dy, const float* gamma,
                                     const float* mean, const float* inv_std, float* dx) {
  const int64_t C = p.cols;
  for (int64_t r = global_warp(); r < p.rows; r += warp_count()) {
    const float *xr = x + r * C, *gr = dy + r * C;
    float* dr = dx + r * C;
    const float m = mean[r], s = inv_std[r];
    double sum_g = 0.0, sum_g_xhat = 0.0;
    for (int64_t j = lane(); j < C; j += kWarp) {
      const float g = gamma ? gr[j] * gamma[j] : gr[j];
      sum_g += g;
      sum_g_xhat += static_cast<double>(g) * ((xr[j] - m) * s);
    }
    const float mean_g = static_cast<float>(warp_sum_double(sum_g) / C);
    const float mean_g_xhat = static_cast<float>(warp_sum_double(sum_g_xhat) / C);
    for (int64_t j = lane(); j < C; j += kWarp) {
      const float g = gamma ? gr[j] * gamma[j] : gr[j];
      dr[j] = s * (g - mean_g - (xr[j] - m) * s * mean_g_xhat);
    }
  }
}

__global__ void layer_grad_sums_kernel(const double* partial, int64_t chunks, int64_t cols, float* dgamma,
                                       float* dbeta) {
  for (int64_t c = global_thread(); c < cols; c += thread_count()) {
    double a, b;
    chunk_totals(partial, chunks, cols, c, a, b);
    if (dbeta) dbeta[c] = static_cast<float>(a);
    if (dgamma) dgamma[c] = static_cast<float>(b);
  }
}

}  // namespace

int batch_norm_forward(int device, const BatchNormParams* p, const float* x, const float* gamma, const float* beta,
                       float* moving_mean, float* moving_variance, float* mean, float* inv_std, float* y) {
  if (p->channels <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  const unsigned channel_blocks = blocks_for(p->channels);
  if (p->training && p->rows > 0) {
    double* partial = nullptr;
    int64_t chunks = 0;
    KEROSENE_TRY(column_partials(*s, ShiftedMoments{x, p->channels}, p->rows, p->channels, &partial, &chunks));
    batch_stats_kernel<<<channel_blocks, kBlock, 0, s->stream>>>(*p, partial, chunks, x, moving_mean,
                                                                  moving_variance, mean, inv_std);
    KEROSENE_TRY(check_launch("batch_stats"));
  } else {
    moving_stats_kernel<<<channel_blocks, kBlock, 0, s->stream>>>(*p, moving_mean, moving_variance, mean, inv_std);
    KEROSENE_TRY(check_launch("moving_stats"));
  }
  const int64_t n = p->rows * p->channels;
  batch_norm_apply_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(x, gamma, beta, mean, inv_std, y, n, p->channels);
  return check_launch("batch_norm_apply");
}

int batch_norm_backward(int device, const BatchNormParams* p, const float* x, const float* dy, const float* gamma,
                        const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta) {
  if (p->channels <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  double* partial = nullptr;
  int64_t chunks = 0;
  KEROSENE_TRY(column_partials(*s, GradientTerms<false>{x, dy, mean, inv_std, p->channels}, p->rows, p->channels,
                               &partial, &chunks));
  batch_grad_sums_kernel<<<blocks_for(p->channels), kBlock, 0, s->stream>>>(partial, chunks, p->channels, dgamma,
                                                                             dbeta);
  KEROSENE_TRY(check_launch("batch_grad_sums"));
  if (!dx) return cuda_abi::kOk;
  batch_norm_dx_kernel<<<blocks_for(p->rows * p->channels), kBlock, 0, s->stream>>>(*p, x, dy, gamma, mean, inv_std,
                                                                                     dgamma, dbeta, dx);
  return check_launch("batch_norm_dx");
}

int batch_norm_sums(int device, const BatchNormParams* p, const float* x, const float* shift, float* sums) {
  if (p->channels <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  std::lock_guard lock(s->mutex);
  double* partial = nullptr;
  int64_t chunks = 0;
  KEROSENE_TRY(column_partials(*s, CommonShiftMoments{x, shift, p->channels}, p->rows, p->channels, &partial, &chunks));
  batch_sums_kernel<<<blocks_for(p->channels), kBlock, 0, s->stream>>>(partial, chunks, p->channels, p->rows, sums);
  return check_launch("batch_sums");
}

int batch_norm_forward_from_sums(int device, const BatchNormParams* p, const float* sums, const float* shift,
                                 const float* x,
                                 const float* gamma, const float* beta, float* moving_mean, float* moving_variance,
                                 float* mean, float* inv_std, float* y) {
  if (p->channels <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  stats_from_sums_kernel<<<blocks_for(p->channels), kBlock, 0, s->stream>>>(*p, sums, shift, moving_mean,
                                                                             moving_variance, mean, inv_std);
  KEROSENE_TRY(check_launch("stats_from_sums"));
  if (!x || !y || p->rows <= 0) return cuda_abi::kOk;
  const int64_t n = p->rows * p->channels;
  batch_norm_apply_kernel<<<blocks_for(n), kBlock, 0, s->stream>>>(x, gamma, beta, mean, inv_std, y, n, p->channels);
  return check_launch("batch_norm_apply");
}

int batch_norm_backward_from_sums(int device, const BatchNormParams* p, const float* x, const float* dy,
                                  const float* gamma, const float* mean, const float* inv_std,
                                  const float* batch_sums, const float* grad_sums, float* dx) {
  if (p->channels <= 0 || p->rows <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  batch_norm_dx_from_sums_kernel<<<blocks_for(p->rows * p->channels), kBlock, 0, s->stream>>>(
      *p, x, dy, gamma, mean, inv_std, batch_sums, grad_sums, dx);
  return check_launch("batch_norm_dx_from_sums");
}

int layer_norm_forward(int device, const LayerNormParams* p, const float* x, const float* gamma, const float* beta,
                       float* mean, float* inv_std, float* y) {
  if (p->rows <= 0 || p->cols <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  layer_norm_forward_kernel<<<row_blocks(p->rows), kBlock, 0, s->stream>>>(*p, x, gamma, beta, mean, inv_std, y);
  return check_launch("layer_norm_forward");
}

int layer_norm_backward(int device, const LayerNormParams* p, const float* x, const float* dy, const float* gamma,
                        const float* mean, const float* inv_std, float* dx, float* dgamma, float* dbeta) {
  if (p->cols <= 0) return cuda_abi::kOk;
  DeviceState* s = nullptr;
  KEROSENE_TRY(acquire(device, &s));
  if (dgamma || dbeta) {
    std::lock_guard lock(s->mutex);
    double* partial = nullptr;
    int64_t chunks = 0;
    KEROSENE_TRY(column_partials(*s, GradientTerms<true>{x, dy, mean, inv_std, p->cols}, p->rows, p->cols, &partial,
                                 &chunks));
    layer_grad_sums_kernel<<<blocks_for(p->cols), kBlock, 0, s->stream>>>(partial, chunks, p->cols, dgamma, dbeta);
    KEROSENE_TRY(check_launch("layer_grad_sums"));
  }
  if (!dx || p->rows <= 0) return cuda_abi::kOk;
  layer_norm_dx_kernel<<<row_blocks(p->rows), kBlock, 0, s->stream>>>(*p, x, dy, gamma, mean, inv_std, dx);
  return check_launch("layer_norm_dx");
}

}  // namespace kerosene::backends::cuda_impl
