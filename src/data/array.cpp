#include "data/array.h"

#include <cstring>
#include <string>

#include "kerosene/error.h"
#include "kerosene/tensor.h"

namespace kerosene::data {

Tensor to_tensor(Array&& array) {
  if (array.shape.size() > static_cast<size_t>(Shape::kMaxRank)) {
    throw ValueError("cannot make a tensor of rank " + std::to_string(array.shape.size()) +
                     ": tensors have at most " + std::to_string(Shape::kMaxRank) + " dimensions");
  }
  const size_t expected = static_cast<size_t>(array.numel()) * dtype_size(array.dtype);
  if (array.bytes.size() != expected) {
    throw ValueError("array data holds " + std::to_string(array.bytes.size()) +
                     " bytes, but its shape and dtype need " + std::to_string(expected));
  }
  Tensor tensor = Tensor::empty(Shape(array.shape), array.dtype, Device());
  if (expected > 0) std::memcpy(tensor.raw_data(), array.bytes.data(), expected);
  // The caller gave the array away; free its memory now rather than when it goes out of scope.
  array.bytes = {};
  return tensor;
}

}  // namespace kerosene::data
