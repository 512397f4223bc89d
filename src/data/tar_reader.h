// Reading the regular files of a tar archive (POSIX ustar and GNU tar, as the CIFAR tarballs and
// Python's tarfile write them), gzipped or not, as a stream: one member at a time, never more in
// memory than the member the caller asks for. Header checksums are checked; long names (GNU 'L'
// and pax records) are not read, so a member is named by its 100- (or, with ustar's prefix,
// 255-) byte header name.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/gzip.h"

namespace kerosene::data {

class TarReader {
 public:
  /// Opens `path`; throws IOError as ContentStream does.
  explicit TarReader(const std::string& path);

  /// Moves to the next regular file, skipping what is left of the current one and any other
  /// kind of entry (directories, links, pax and GNU records). Returns false at the end of the
  /// archive (a zero block, or the end of the data at a header). Throws IOError naming the file
  /// and the offset for a header with a bad checksum or size field, or data cut short.
  bool next();

  /// The current member's name ("cifar-10-batches-py/data_batch_1") and size.
  const std::string& name() const { return name_; }
  uint64_t size() const { return size_; }

  /// The current member's contents. Throws IOError naming the archive and member if it is larger
  /// than `max_bytes` (before reading any of it) or cut short.
  std::vector<uint8_t> read(uint64_t max_bytes);

  /// "'<archive>' member '<name>'", for messages.
  std::string describe() const;

 private:
  void skip(uint64_t n);

  ContentStream stream_;
  uint64_t offset_ = 0;  // of the stream's next byte in the (uncompressed) archive
  std::string name_;
  uint64_t size_ = 0;
  uint64_t data_left_ = 0, padding_ = 0;  // of the current entry, not yet read
};

}  // namespace kerosene::data
