// Sharding a dataset among the workers of a multi-worker job, and the rows of each step: the
// training loop's business (it knows how many workers there are, not how they talk).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "kerosene/tensor.h"

namespace kerosene::train {

/// How the rows of a dataset are shared by the workers of a multi-worker strategy: worker w
/// takes the contiguous rows [n*w/W, n*(w+1)/W), so shards differ by at most one row and no row
/// is left out. Every worker runs the steps the largest shard needs; a worker whose shard is
/// used up takes part in the remaining steps with no rows (its replicas add zero gradients).
struct Sharding {
  std::vector<int64_t> sizes;  // rows of every worker's shard
  int worker = 0;
  int64_t total = 0;

  Sharding(int64_t rows, int64_t workers, int worker_index) : worker(worker_index), total(rows) {
    for (int64_t w = 0; w < workers; ++w) sizes.push_back(rows * (w + 1) / workers - rows * w / workers);
  }
  /// This worker's rows of `t` (every row when there is one worker).
  Tensor mine(const Tensor& t) const {
    if (sizes.size() == 1 || !t.defined()) return t;
    const int64_t w = worker, n = static_cast<int64_t>(sizes.size());
    return t.slice(total * w / n, total * (w + 1) / n);
  }
  int64_t largest() const { return *std::max_element(sizes.begin(), sizes.end()); }
};

/// Rows [begin, begin + count) of a shard of `rows` rows at `step`: batches in order; past the
/// end, around again when `wrap` (steps_per_epoch beyond one pass), else none.
inline std::pair<int64_t, int64_t> step_rows(int64_t rows, int64_t step, int64_t batch, bool wrap) {
  if (rows == 0) return {0, 0};
  const int64_t begin = wrap ? (step * batch) % rows : std::min(step * batch, rows);
  return {begin, std::min(batch, rows - begin)};
}

/// The rows of every worker at `step`: the global batch, which scales the gradients.
inline int64_t global_rows(const Sharding& sharding, int64_t step, int64_t batch, bool wrap) {
  int64_t n = 0;
  for (int64_t size : sharding.sizes) n += step_rows(size, step, batch, wrap).second;
  return n;
}

}  // namespace kerosene::train
