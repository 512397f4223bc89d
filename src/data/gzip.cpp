#include "data/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>

#include "kerosene/error.h"

namespace kerosene::data {
namespace {

std::string zlib_message(const z_stream& stream, int code) {
  if (stream.msg != nullptr) return stream.msg;
  return zError(code);
}

// zlib counts in uInt; feed large buffers in pieces it can hold.
constexpr size_t kMaxChunk = std::numeric_limits<uInt>::max();

}  // namespace

std::vector<uint8_t> read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw IOError("cannot read '" + path + "': it is a directory, expected a file");
  }
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) {
    throw IOError("cannot open '" + path + "': " + std::strerror(errno));
  }
  // The size from stat is only a hint: read to the end, as the file may be a pipe or growing.
  std::vector<uint8_t> bytes;
  if (const auto size = std::filesystem::file_size(path, ec); !ec) bytes.reserve(size);
  uint8_t chunk[1 << 16];
  size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file.get())) > 0) {
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  if (std::ferror(file.get())) {
    throw IOError("error while reading '" + path + "': " + std::strerror(errno));
  }
  return bytes;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::vector<uint8_t> in = read_file_bytes(path);
  if (in.size() < 2 || in[0] != 0x1f || in[1] != 0x8b) return in;

  z_stream stream{};
  // 15 + 32: the largest window, and detect the gzip (or zlib) header automatically.
  int code = inflateInit2(&stream, 15 + 32);
  if (code != Z_OK) throw IOError("cannot gunzip '" + path + "': " + zError(code));
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, &inflateEnd);

  // The trailer's ISIZE (size mod 2^32) is only a hint; cap it by deflate's best ratio (~1032:1)
  // so a corrupt trailer cannot make us reserve gigabytes.
  std::vector<uint8_t> out;
  if (in.size() >= 18) {
    size_t hint = in[in.size() - 4] | in[in.size() - 3] << 8 | in[in.size() - 2] << 16 |
                  static_cast<size_t>(in[in.size() - 1]) << 24;
    out.reserve(std::min(hint, in.size() * 1032));
  }
  size_t consumed = 0, produced = 0;
  while (true) {
    if (produced == out.size()) out.resize(std::max<size_t>(out.size() * 2, 1 << 16));
    stream.next_in = in.data() + consumed;
    stream.avail_in = static_cast<uInt>(std::min(in.size() - consumed, kMaxChunk));
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxChunk));
    const uInt in_before = stream.avail_in, out_before = stream.avail_out;
    code = inflate(&stream, Z_NO_FLUSH);
    consumed += in_before - stream.avail_in;
    produced += out_before - stream.avail_out;
    if (code == Z_STREAM_END) {
      // Another member may follow (as `cat a.gz b.gz` makes); anything else is ignored, as gzip
      // does.
      if (in.size() - consumed >= 2 && in[consumed] == 0x1f && in[consumed + 1] == 0x8b) {
        inflateReset(&stream);
        continue;
      }
      break;
    }
    // Z_BUF_ERROR means no progress was possible: with output space given, the input ran out.
    if (code == Z_BUF_ERROR && consumed == in.size()) {
      throw IOError("cannot gunzip '" + path + "': the gzip data ends early, the file's " +
                    std::to_string(in.size()) + " bytes are not all of it (truncated download?)");
    }
    if (code != Z_OK) {
      throw IOError("cannot gunzip '" + path +
                    "': corrupt gzip data (zlib: " + zlib_message(stream, code) + ")");
    }
  }
  out.resize(produced);
  out.shrink_to_fit();
  return out;
}

std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t size, size_t expected_size,
                                 const std::string& what) {
  z_stream stream{};
  int code = inflateInit2(&stream, -15);  // negative: raw deflate, no header or trailer
  if (code != Z_OK) throw IOError("cannot inflate " + what + ": " + zError(code));
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, &inflateEnd);

  // One spare byte so that a stream longer than announced is seen, not silently cut.
  std::vector<uint8_t> out(expected_size + 1);
  size_t consumed = 0, produced = 0;
  while (true) {
    stream.next_in = const_cast<uint8_t*>(data + consumed);
    stream.avail_in = static_cast<uInt>(std::min(size - consumed, kMaxChunk));
    stream.next_out = out.data() + produced;
    stream.avail_out = static_cast<uInt>(std::min(out.size() - produced, kMaxChunk));
    const uInt in_before = stream.avail_in, out_before = stream.avail_out;
    code = inflate(&stream, Z_NO_FLUSH);
    consumed += in_before - stream.avail_in;
    produced += out_before - stream.avail_out;
    if (code == Z_STREAM_END) break;
    if (produced > expected_size) break;
    if (code == Z_BUF_ERROR && consumed == size) {
      throw IOError("cannot inflate " + what + ": the compressed data ends early (" +
                    std::to_string(produced) + " of " + std::to_string(expected_size) +
                    " bytes recovered)");
    }
    if (code != Z_OK) {
      throw IOError("cannot inflate " + what +
                    ": corrupt deflate data (zlib: " + zlib_message(stream, code) + ")");
    }
  }
  if (produced != expected_size) {
    throw IOError("cannot inflate " + what + ": expected " + std::to_string(expected_size) +
                  " bytes, the data expands to " +
                  (produced > expected_size ? "more" : std::to_string(produced)));
  }
  out.resize(expected_size);
  return out;
}

uint32_t crc32_of(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (size > 0) {
    const uInt n = static_cast<uInt>(std::min(size, kMaxChunk));
    crc = crc32(crc, data, n);
    data += n;
    size -= n;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace kerosene::data
