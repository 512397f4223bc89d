// Convolutions split over the thread team by samples: one chunk of the batch per member, and
// weight gradients summed across the chunks (chunk 0 writes dw and db themselves, every other
// chunk a partial sum of its own, added in afterwards). Used by the oneDNN convolutions and the
// fused convolution + pooling.
#pragma once

#include <algorithm>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "backends/kernel_params.h"
#include "kerosene/tensor.h"

namespace kerosene::backends::cpu {

/// Calls f(chunk, chunk's params, first sample) for each of `chunks` contiguous chunks of the
/// batch, spread over the team; empty chunks are skipped.
template <typename F>
void for_batch_chunks(const Conv2DParams& p, int chunks, F&& f) {
  const int64_t block = (p.batch + chunks - 1) / chunks;
  ParallelTeam::instance().run(chunks, [&](int c) {
    const int64_t begin = c * block, size = std::min(p.batch, begin + block) - begin;
    if (size <= 0) return;
    Conv2DParams part = p;
    part.batch = size;
    f(c, part, begin);
  });
}

/// Chunks for an op of `flops` over p.batch samples: threads_for(flops), at most one a sample.
inline int batch_chunks(const Conv2DParams& p, double flops) {
  return static_cast<int>(std::min<int64_t>(threads_for(flops), p.batch));
}

/// Where each chunk writes its weight gradient: dw/db for chunk 0, a partial buffer for the
/// others; sum() adds the partials into dw/db. Made on the calling thread (its buffer is that
/// thread's), used from the team's chunks, summed on the calling thread again.
class ChunkedWeightGrads {
 public:
  ChunkedWeightGrads(Tensor& dw, Tensor* db, int chunks)
      : dw_(static_cast<float*>(dw.raw_data())), db_(db ? static_cast<float*>(db->raw_data()) : nullptr),
        w_size_(dw.numel()), b_size_(db ? db->numel() : 0), chunks_(chunks) {
    thread_local std::vector<float> partials;
    partials.resize(static_cast<size_t>((chunks - 1) * (w_size_ + b_size_)));
    partials_ = partials.data();
  }
  float* weights(int chunk) const { return chunk == 0 ? dw_ : partials_ + (chunk - 1) * (w_size_ + b_size_); }
  float* bias(int chunk) const { return !db_ ? nullptr : chunk == 0 ? db_ : weights(chunk) + w_size_; }
  /// Adds the partial sums of the chunks that ran (for_batch_chunks skips empty ones).
  void sum(int64_t batch) const {
    const int64_t block = (batch + chunks_ - 1) / chunks_;
    for (int c = 1; c < chunks_ && c * block < batch; ++c) {
      const float* part = weights(c);
      for (int64_t i = 0; i < w_size_; ++i) dw_[i] += part[i];
      for (int64_t i = 0; i < b_size_; ++i) db_[i] += part[w_size_ + i];
    }
  }

 private:
  float* dw_;
  float* db_;
  int64_t w_size_, b_size_;
  int chunks_;
  float* partials_;
};

}  // namespace kerosene::backends::cpu
