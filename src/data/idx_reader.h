// Reader for the IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
// two zero bytes, a type byte, a rank byte, one big-endian uint32 per dimension, then the
// big-endian elements in C order.
#pragma once

#include <string>

#include "data/array.h"

namespace kerosene::data {

/// Reads the IDX file at `path`, raw or gzipped. Element types map to DTypes as:
/// 0x08 unsigned byte -> uint8; 0x09 signed byte, 0x0B int16, 0x0C int32 -> int32;
/// 0x0D float32 -> float32; 0x0E float64 -> float32 (rounded).
/// Throws IOError naming the file if it is missing, corrupt (gzip), has a bad magic number or
/// unknown type byte, a header cut short, a shape whose size overflows, or data that is not
/// exactly what the header's shape implies (expected and found byte counts are given).
Array read_idx(const std::string& path);

}  // namespace kerosene::data
