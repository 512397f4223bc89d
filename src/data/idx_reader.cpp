#include "data/idx_reader.h"

#include <cstring>
#include <limits>

#include "data/gzip.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

struct IdxType {
  uint8_t code;
  const char* name;
  size_t file_size;  // bytes per element in the file
  DType dtype;
};

// kerosene has no int8 or int16 dtype, and float64 is rounded: MNIST-like data needs neither.
constexpr IdxType kIdxTypes[] = {
    {0x08, "unsigned byte", 1, DType::uint8}, {0x09, "signed byte", 1, DType::int32},
    {0x0B, "short", 2, DType::int32},         {0x0C, "int", 4, DType::int32},
    {0x0D, "float", 4, DType::float32},       {0x0E, "double", 8, DType::float32},
};

uint64_t load_be(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) v = v << 8 | p[i];
  return v;
}

std::string hex_byte(uint8_t b) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[b >> 4] + digits[b & 15];
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// Converts big-endian file elements to host-order elements of the target dtype.
void convert(uint8_t code, const uint8_t* src, size_t count, uint8_t* dst) {
  for (size_t i = 0; i < count; ++i) {
    switch (code) {
      case 0x09: {
        int32_t v = static_cast<int8_t>(src[i]);
        std::memcpy(dst + 4 * i, &v, 4);
        break;
      }
      case 0x0B: {
        int32_t v = static_cast<int16_t>(load_be(src + 2 * i, 2));
        std::memcpy(dst + 4 * i, &v, 4);
        break;
      }
      case 0x0C:
      case 0x0D: {  // same bits, only the byte order changes
        uint32_t v = static_cast<uint32_t>(load_be(src + 4 * i, 4));
        std::memcpy(dst + 4 * i, &v, 4);
        break;
      }
      case 0x0E: {
        uint64_t bits = load_be(src + 8 * i, 8);
        double d;
        std::memcpy(&d, &bits, 8);
        float f = static_cast<float>(d);
        std::memcpy(dst + 4 * i, &f, 4);
        break;
      }
    }
  }
}

}  // namespace

Array read_idx(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  const std::string where = "IDX file '" + path + "'";
  if (bytes.size() < 4) {
    throw IOError(where + " is truncated: expected a 4-byte header, found " +
                  std::to_string(bytes.size()) + " bytes");
  }
  if (bytes[0] != 0 || bytes[1] != 0) {
    throw IOError(where +
                  " has a bad magic number: expected the first two bytes to be 0x00 0x00, "
                  "found " +
                  hex_byte(bytes[0]) + " " + hex_byte(bytes[1]) + " (not an IDX file?)");
  }
  const IdxType* found_type = nullptr;
  for (const IdxType& t : kIdxTypes) found_type = t.code == bytes[2] ? &t : found_type;
  if (found_type == nullptr) {
    throw IOError(where + " has an unknown element type " + hex_byte(bytes[2]) +
                  ": expected one of 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e");
  }
  const IdxType& type = *found_type;
  const size_t rank = bytes[3];
  const size_t header = 4 + 4 * rank;
  if (bytes.size() < header) {
    throw IOError(where + " is truncated: its header declares " + std::to_string(rank) +
                  " dimensions, which need " + std::to_string(header) + " header bytes, found " +
                  std::to_string(bytes.size()));
  }
  Array array;
  uint64_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint64_t d = load_be(bytes.data() + 4 + 4 * i, 4);
    array.shape.push_back(static_cast<int64_t>(d));
    // Each dimension is below 2^32, so this check keeps count * 8 below 2^64 too.
    if (d != 0 && count > (std::numeric_limits<uint64_t>::max() >> 4) / d) {
      throw IOError(where + " has a corrupt header: the shape " + shape_string(array.shape) +
                    "... has more elements than any file can hold");
    }
    count *= d;
  }
  const uint64_t expected = count * type.file_size;
  const uint64_t found = bytes.size() - header;
  if (found != expected) {
    throw IOError(where + (found < expected ? " is truncated" : " has trailing data") +
                  ": its header's shape " + shape_string(array.shape) + " of " + type.name +
                  " needs " + std::to_string(expected) + " data bytes, found " +
                  std::to_string(found));
  }
  array.dtype = type.dtype;
  if (bytes[2] == 0x08) {
    // The common case: reuse the buffer, dropping the header in place.
    bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
    array.bytes = std::move(bytes);
  } else {
    array.bytes.resize(count * dtype_size(type.dtype));
    convert(bytes[2], bytes.data() + header, count, array.bytes.data());
  }
  return array;
}

}  // namespace kerosene::data
