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
  ContentStream stream(path);
  const std::string where = "IDX file '" + path + "'";
  // The header comes first and says how much data follows: nothing beyond that is ever read,
  // so a gzip bomb or a lying header costs no more than the file really holds.
  uint8_t magic[4] = {};
  const size_t got = stream.read(magic, 4);
  if (got < 4) {
    throw IOError(where + " is truncated: expected a 4-byte header, found " + std::to_string(got) +
                  " bytes");
  }
  if (magic[0] != 0 || magic[1] != 0) {
    throw IOError(where +
                  " has a bad magic number: expected the first two bytes to be 0x00 0x00, "
                  "found " +
                  hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " (not an IDX file?)");
  }
  const IdxType* found_type = nullptr;
  for (const IdxType& t : kIdxTypes) found_type = t.code == magic[2] ? &t : found_type;
  if (found_type == nullptr) {
    throw IOError(where + " has an unknown element type " + hex_byte(magic[2]) +
                  ": expected one of 0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e");
  }
  const IdxType& type = *found_type;
  const size_t rank = magic[3];
  const size_t header = 4 + 4 * rank;
  uint8_t dims[4 * 255] = {};
  if (const size_t n = stream.read(dims, 4 * rank); n < 4 * rank) {
    throw IOError(where + " is truncated: its header declares " + std::to_string(rank) +
                  " dimensions, which need " + std::to_string(header) + " header bytes, found " +
                  std::to_string(4 + n));
  }
  Array array;
  uint64_t count = 1;
  for (size_t i = 0; i < rank; ++i) {
    const uint64_t d = load_be(dims + 4 * i, 4);
    array.shape.push_back(static_cast<int64_t>(d));
    // Each dimension is below 2^32, so this check keeps count * 8 below 2^64 too.
    if (d != 0 && count > (std::numeric_limits<uint64_t>::max() >> 4) / d) {
      throw IOError(where + " has a corrupt header: the shape " + shape_string(array.shape) +
                    "... has more elements than any file can hold");
    }
    count *= d;
  }
  const uint64_t expected = count * type.file_size;
  const std::string needs = "its header's shape " + shape_string(array.shape) + " of " + type.name +
                            " needs " + std::to_string(expected) + " data bytes";
  if (expected > stream.max_content_size()) {
    throw IOError(where + " is truncated or corrupt: " + needs + ", more than the file's " +
                  std::to_string(stream.file_size()) + " bytes" +
                  (stream.gzipped() ? " can expand to" : " hold"));
  }
  std::vector<uint8_t> data = stream.read_bytes(expected, "the data of " + where);
  if (data.size() < expected) {
    throw IOError(where + " is truncated: " + needs + ", found " + std::to_string(data.size()));
  }
  if (!stream.at_end()) {
    // A raw file's size says how much more there is; gzip data is not expanded to count it.
    const std::string found = stream.gzipped() ? "more" : std::to_string(stream.file_size() - header);
    throw IOError(where + " has trailing data: " + needs + ", found " + found);
  }
  array.dtype = type.dtype;
  if (magic[2] == 0x08) {
    array.bytes = std::move(data);  // the common case: the bytes are the elements
  } else {
    resize_or_throw(array.bytes, count * dtype_size(type.dtype), where);
    convert(magic[2], data.data(), count, array.bytes.data());
  }
  return array;
}

}  // namespace kerosene::data
