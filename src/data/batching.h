// Assembling batches: rows of a dataset gathered (in shuffled order) into a batch tensor.
#pragma once

#include <cstdint>

#include "kerosene/tensor.h"

namespace kerosene::data {

/// dst[i] = src[indices[i]] for i < count, converting the element type to dst's dtype
/// (uint8/int -> float32 for inputs, integers -> int32 for sparse labels). dst is host memory.
void gather_rows(const Tensor& src, const int64_t* indices, int64_t count, Tensor& dst);
/// The same into raw host memory `dst` of `count` rows of `dtype` (float32 or int32), for
/// buffers that are not tensors (pinned memory, train/pinned_staging.h).
void gather_rows(const Tensor& src, const int64_t* indices, int64_t count, DType dtype, void* dst);

}  // namespace kerosene::data
