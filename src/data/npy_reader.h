// Reader for NumPy's .npy format
// (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html):
// "\x93NUMPY", a version, a header length, a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the raw elements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/array.h"

namespace kerosene::data {

/// Parses the .npy file held in `bytes` (format versions 1, 2 and 3); `what` names it in error
/// messages ("'mnist.npz' member 'x_train.npy'"). Accepted dtypes: '|u1' -> uint8,
/// '|i1' and '<i4' -> int32, '<i8' -> int64, '<f4' -> float32, '<f8' -> float32 (rounded).
/// Throws IOError if the magic, version or header is malformed, the array is Fortran-ordered,
/// big-endian or of another dtype, or the data size differs from what the shape implies.
Array parse_npy(const std::vector<uint8_t>& bytes, const std::string& what);

/// Reads and parses the .npy file at `path`. Throws IOError as parse_npy does, or if the file
/// cannot be read.
Array read_npy(const std::string& path);

}  // namespace kerosene::data
