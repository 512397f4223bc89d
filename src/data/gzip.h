// Whole-file reading with transparent gunzip, and the raw inflate that ZIP members need.
// zlib stays behind this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kerosene::data {

/// The bytes of the file at `path`, exactly as stored.
/// Throws IOError naming the file if it is missing, a directory, or unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path);

/// The bytes of the file at `path`, gunzipped when the file starts with the gzip magic
/// (1f 8b); other files are returned as stored. Concatenated gzip members are joined, as gzip does.
/// Throws IOError naming the file if it cannot be read, or if the gzip data is corrupt or
/// truncated (the message carries zlib's explanation).
std::vector<uint8_t> read_file(const std::string& path);

/// Inflates a raw deflate stream (no zlib or gzip header, as in ZIP members) that must expand to
/// exactly `expected_size` bytes. `what` names the data in error messages ("'a.npz' member
/// 'x.npy'"). Throws IOError if the stream is corrupt, ends early, or expands to another size.
std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t size, size_t expected_size,
                                 const std::string& what);

/// CRC-32 as ZIP and gzip define it.
uint32_t crc32_of(const uint8_t* data, size_t size);

}  // namespace kerosene::data
