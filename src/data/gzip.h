// Reading files whose sizes are not to be trusted: whole-file reads of regular files only,
// transparent gunzip as a stream, and the raw inflate that ZIP members need. Every buffer
// grows as data arrives and stops at a limit the caller derives from the format, so a file
// never costs more memory than its contents justify (a 189-byte "4 GiB" archive costs nothing).
// zlib stays behind this header.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kerosene::data {

/// Deflate cannot expand data by more than 1032:1 (a 258-byte match coded in 2 bits); a size
/// claim above this ratio of the compressed size is corrupt, whatever a header says.
constexpr uint64_t kMaxDeflateRatio = 1032;

/// The most that any whole-file read takes unless the caller sets a limit: 8 GiB.
constexpr uint64_t kDefaultMaxFileBytes = uint64_t{8} << 30;

/// The bytes of the regular file at `path`, exactly as stored.
/// Throws IOError naming the file if it is missing, a directory, not a regular file (a FIFO,
/// a device such as /dev/zero: they have no size to check), unreadable, larger than
/// `max_bytes`, or changes size while being read; ResourceExhaustedError if memory runs out.
std::vector<uint8_t> read_file_bytes(const std::string& path,
                                     uint64_t max_bytes = kDefaultMaxFileBytes);

/// The contents of a regular file as a stream: gunzipped when the file starts with the gzip
/// magic (1f 8b), concatenated members joined as gzip does, else the bytes as stored. Readers
/// take what a format's header justifies and stop, so a gzip bomb is never expanded.
class ContentStream {
 public:
  /// Opens `path`; throws IOError as read_file_bytes does.
  explicit ContentStream(const std::string& path);
  ~ContentStream();
  ContentStream(const ContentStream&) = delete;
  ContentStream& operator=(const ContentStream&) = delete;

  /// Fills up to `n` bytes of `dst`; returns fewer only at the end of the contents.
  /// Throws IOError naming the file if the gzip data is corrupt or truncated, or reading fails.
  size_t read(uint8_t* dst, size_t n);

  /// Reads the next `n` bytes into a buffer that grows as they arrive (so a false claim costs
  /// only what the file really holds). Returns fewer only at the end of the contents.
  std::vector<uint8_t> read_bytes(uint64_t n, const std::string& what);

  /// Whether anything is left to read (consumes nothing a later read would miss).
  bool at_end();

  const std::string& path() const;
  bool gzipped() const;
  /// The file's size on disk.
  uint64_t file_size() const;
  /// The most the contents can hold: the file size, or for gzip the file size times
  /// kMaxDeflateRatio.
  uint64_t max_content_size() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The whole contents of the file at `path`, gunzipped as ContentStream does. Throws IOError
/// naming the file if it cannot be read, is corrupt or truncated, or its contents exceed
/// `max_bytes` (checked as they expand, never after).
std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes = kDefaultMaxFileBytes);

/// Inflates a raw deflate stream (no zlib or gzip header, as in ZIP members) that must expand to
/// exactly `expected_size` bytes. `what` names the data in error messages ("'a.npz' member
/// 'x.npy'"). The claim is checked against kMaxDeflateRatio before anything is allocated, and
/// the output grows as data arrives. Throws IOError if the claim is impossible, or the stream is
/// corrupt, ends early, or expands to another size.
std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t size, size_t expected_size,
                                 const std::string& what);

/// CRC-32 as ZIP and gzip define it.
uint32_t crc32_of(const uint8_t* data, size_t size);

/// Grows `buffer` to `size` bytes, turning an allocation failure into ResourceExhaustedError
/// that names `what` and the size (a bare std::bad_alloc says neither).
void resize_or_throw(std::vector<uint8_t>& buffer, size_t size, const std::string& what);

}  // namespace kerosene::data
