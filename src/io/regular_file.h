// The one check every container reader (zip, HDF5) makes before a library opens a file: that it
// is a regular file, made without blocking (O_NONBLOCK keeps the open of a FIFO from waiting for
// a writer), so a FIFO or a device such as /dev/zero, which never ends, is refused by kind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kerosene::io {

struct RegularFile {
  uint64_t size = 0;
  std::vector<uint8_t> head;  ///< the first bytes asked for (fewer for a shorter file)
};

/// Throws IOError "<path>: cannot open: <reason>", "<path>: cannot stat", or "<path>: expected a
/// regular file, found a FIFO (named pipe)" (a directory, a character device, ...).
RegularFile check_regular_file(const std::string& path, size_t head_bytes = 0);

}  // namespace kerosene::io
