// Host-side rounding of float32 values to the 16-bit compute types, for op_check's references:
// a matmul or convolution in bfloat16/float16 with float32 accumulation is the float32 op on
// operands rounded this way (a product of two 16-bit values is exact in float32), up to the
// order of the sums.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/kernel_params.h"

namespace kerosene::op_check {

/// v rounded to nearest even in `to` (float32: v itself). NaN stays NaN.
inline float round_to(float v, backends::ComputePrecision to) {
  using backends::ComputePrecision;
  if (to == ComputePrecision::float32 || std::isnan(v)) return v;
  if (to == ComputePrecision::float16) return static_cast<float>(static_cast<_Float16>(v));  // IEEE RNE
  uint32_t bits = std::bit_cast<uint32_t>(v);
  bits += 0x7fffu + ((bits >> 16) & 1u);  // bfloat16: the upper half of a float32, rounded to even
  return std::bit_cast<float>(bits & 0xffff0000u);
}

inline std::vector<float> round_all(std::vector<float> values, backends::ComputePrecision to) {
  for (float& v : values) v = round_to(v, to);
  return values;
}

}  // namespace kerosene::op_check
