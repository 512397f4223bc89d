// Writing a file so that a crash never leaves a half-written file under its name: the bytes go
// to a temporary file beside it, are flushed to disk, and the temporary is renamed over the
// final name (rename is atomic within a file system).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kerosene::data {

/// Writes `bytes` to `path` atomically. Throws IOError naming the file if the directory is
/// missing or not writable, the disk is full, or the rename fails; the temporary is removed then.
void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace kerosene::data
