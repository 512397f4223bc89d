// Array: what the file readers produce, before it becomes a Tensor. Readers stay free of the
// runtime (no device, no allocator), so they are tested on their own and reused by tools.
#pragma once

#include <cstdint>
#include <vector>

#include "kerosene/dtype.h"

namespace kerosene {
class Tensor;
}

namespace kerosene::data {

/// A dense, C-ordered host array: `bytes` holds numel(shape) elements of `dtype`, in the host's
/// byte order.
struct Array {
  std::vector<int64_t> shape;
  DType dtype = DType::uint8;
  std::vector<uint8_t> bytes;

  /// Product of the dimensions (1 for a scalar).
  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

/// Copies `array` into a new tensor on /CPU:0 (datasets are host data, as in Keras).
/// Throws ValueError if the rank exceeds Shape::kMaxRank or the byte count does not match the
/// shape and dtype.
Tensor to_tensor(Array&& array);

}  // namespace kerosene::data
