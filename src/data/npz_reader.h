// Reader for NumPy's .npz archives (np.savez, np.savez_compressed): a ZIP archive whose
// members are .npy files. Keras' mnist.npz is one.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "data/array.h"

namespace kerosene::data {

/// Reads every array in the .npz file at `path`, keyed by member name without ".npy"
/// ("x_train.npy" -> "x_train"). Members may be stored or deflated; their CRC-32 is checked.
/// Accepted dtypes: '|u1' -> uint8, '|i1' and '<i4' -> int32, '<i8' -> int64, '<f4' -> float32,
/// '<f8' -> float32 (rounded).
/// Throws IOError naming the file (and the member) if it is missing, not a ZIP archive, corrupt
/// or truncated, a ZIP64 or multi-disk or encrypted archive, uses a compression other than
/// stored or deflate, or holds a .npy that is malformed, big-endian, Fortran-ordered, of another
/// dtype, or whose data size differs from what its shape implies.
std::map<std::string, Array> read_npz(const std::string& path);

}  // namespace kerosene::data
