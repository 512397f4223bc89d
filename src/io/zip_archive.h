// Zip archives through libzip, for Keras 3's .keras files: a few members, written STORED (as
// Keras writes them), read STORED or DEFLATED. Every failure is an IOError naming the archive,
// the member and what was expected against what was found. A member's declared size is checked
// against the caller's limit and the archive's size before anything is allocated from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kerosene::io {

struct ZipMember {
  std::string name;
  std::vector<uint8_t> data;
};

/// Writes `members`, in order, STORED, to `path` atomically (a temporary beside it, flushed,
/// renamed), so a crash never leaves a half-written archive under `path`.
/// Throws IOError naming the file if it cannot be written.
void write_zip(const std::string& path, const std::vector<ZipMember>& members);

/// An archive open for reading.
class ZipReader {
 public:
  /// Throws IOError naming the file if it is missing, not a regular file, or not a zip archive
  /// (truncated, corrupt central directory, ...).
  explicit ZipReader(const std::string& path);
  ~ZipReader();
  ZipReader(const ZipReader&) = delete;
  ZipReader& operator=(const ZipReader&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool has(const std::string& name) const;
  /// The member's bytes. Throws IOError naming the archive and the member if it is missing
  /// ("expected a member <name>, the archive has: a, b, c"), larger than max_bytes, declares
  /// more than 1032x its compressed size, or fails its CRC.
  std::vector<uint8_t> read(const std::string& name, int64_t max_bytes = int64_t{4} << 30) const;

 private:
  std::string path_;
  void* archive_ = nullptr;  // zip_t*
};

}  // namespace kerosene::io
