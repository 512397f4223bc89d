#include "data/npy_writer.h"

#include <zlib.h>

#include <cstring>
#include <limits>

#include "data/gzip.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

void put_le(std::vector<uint8_t>& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::uint8: return "|u1";
    case DType::int32: return "<i4";
    case DType::int64: return "<i8";
    case DType::float32: return "<f4";
  }
  return "";
}

// Raw deflate (no header), as ZIP members hold it.
std::vector<uint8_t> deflate_raw(const std::vector<uint8_t>& in, const std::string& name) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw IOError("cannot compress npz member '" + name + "': zlib could not start");
  }
  std::vector<uint8_t> out;
  resize_or_throw(out, deflateBound(&z, in.size()), "compressing npz member '" + name + "'");
  z.next_in = const_cast<Bytef*>(in.data());
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int code = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (code != Z_STREAM_END) throw IOError("cannot compress npz member '" + name + "': zlib failed");
  return out;
}

}  // namespace

std::vector<uint8_t> npy_bytes(const Array& array) {
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    if (i > 0) shape += ", ";
    shape += std::to_string(array.shape[i]);
  }
  shape += array.shape.size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr_of(array.dtype) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64; numpy adds a whole
  // 64 spaces when it already is one.
  const size_t unpadded = 10 + header.size() + 1;
  header.append(64 - unpadded % 64, ' ');
  header += '\n';
  if (header.size() > 0xFFFF) throw IOError("a .npy header of " + std::to_string(header.size()) + " bytes needs format 2.0");
  // Built as a string first: GCC 12 misreads pushes after a braced initializer as overflows.
  std::string prefix = "\x93NUMPY";
  prefix += '\x01';
  prefix += '\x00';
  prefix += static_cast<char>(header.size() & 0xFF);
  prefix += static_cast<char>(header.size() >> 8);
  prefix += header;
  std::vector<uint8_t> out;
  resize_or_throw(out, prefix.size() + array.bytes.size(), "a .npy file");
  std::memcpy(out.data(), prefix.data(), prefix.size());
  if (!array.bytes.empty()) std::memcpy(out.data() + prefix.size(), array.bytes.data(), array.bytes.size());
  return out;
}

std::vector<uint8_t> npz_bytes(const std::map<std::string, Array>& arrays, bool compressed) {
  std::vector<uint8_t> out, directory;
  for (const auto& [key, array] : arrays) {
    const std::string name = key + ".npy";
    const std::vector<uint8_t> npy = npy_bytes(array);
    const std::vector<uint8_t> body = compressed ? deflate_raw(npy, name) : npy;
    if (npy.size() > 0xFFFFFFFEu || body.size() > 0xFFFFFFFEu || out.size() > 0xFFFFFFFEu) {
      throw IOError("npz member '" + name + "' would be " + std::to_string(npy.size()) +
                    " bytes: members over 4 GiB need ZIP64, which kerosene does not write; save it as .npy");
    }
    const uint32_t crc = crc32_of(npy.data(), npy.size());
    const uint16_t method = compressed ? 8 : 0;
    const uint64_t offset = out.size();
    // Local header: signature, version 2.0, flags, method, DOS time and date (1980-01-01, as
    // numpy's zipfile writes for arrays), CRC, sizes, name length, no extra field.
    auto header = [&](std::vector<uint8_t>& b, bool central) {
      put_le(b, central ? 0x02014b50 : 0x04034b50, 4);
      if (central) put_le(b, 20, 2);  // version made by
      put_le(b, 20, 2);
      put_le(b, 0, 2);
      put_le(b, method, 2);
      put_le(b, 0, 2);
      put_le(b, 0x21, 2);  // 1980-01-01
      put_le(b, crc, 4);
      put_le(b, body.size(), 4);
      put_le(b, npy.size(), 4);
      put_le(b, name.size(), 2);
      put_le(b, 0, 2);
      if (central) {
        put_le(b, 0, 2);            // comment length
        put_le(b, 0, 2);            // disk
        put_le(b, 0, 2);            // internal attributes
        put_le(b, 0x81800000, 4);   // external attributes: a regular file, mode 0600
        put_le(b, offset, 4);
      }
      b.insert(b.end(), name.begin(), name.end());
    };
    header(out, false);
    out.insert(out.end(), body.begin(), body.end());
    header(directory, true);
  }
  if (arrays.size() > 0xFFFE || out.size() > 0xFFFFFFFEu) {
    throw IOError("an npz archive of " + std::to_string(arrays.size()) + " arrays and " + std::to_string(out.size()) +
                  " bytes needs ZIP64, which kerosene does not write");
  }
  const uint64_t directory_offset = out.size();
  out.insert(out.end(), directory.begin(), directory.end());
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);  // disk numbers
  put_le(out, arrays.size(), 2);
  put_le(out, arrays.size(), 2);
  put_le(out, directory.size(), 4);
  put_le(out, directory_offset, 4);
  put_le(out, 0, 2);  // comment length
  return out;
}

}  // namespace kerosene::data
