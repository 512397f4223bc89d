// Writers for NumPy's .npy format (version 1.0, the one np.save writes for ordinary arrays) and
// .npz archives (np.savez: stored members; np.savez_compressed: deflated ones).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "data/array.h"

namespace kerosene::data {

/// The bytes of a .npy file holding `array`: '|u1', '<i4', '<i8' or '<f4', C order, the header
/// padded with spaces so that the data start on a multiple of 64 bytes, as numpy pads it.
std::vector<uint8_t> npy_bytes(const Array& array);

/// The bytes of an .npz archive with one "<name>.npy" member per array, deflated when
/// `compressed`. Throws IOError if a member would exceed 4 GiB (ZIP64 is not written).
std::vector<uint8_t> npz_bytes(const std::map<std::string, Array>& arrays, bool compressed);

}  // namespace kerosene::data
