#include "data/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "kerosene/error.h"

namespace kerosene::data {

void write_file_atomically(const std::string& path, const std::vector<uint8_t>& bytes) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const std::string temporary = (target.parent_path() / ("." + target.filename().string() + ".kerosene-" +
                                                         std::to_string(::getpid()) + ".tmp"))
                                    .string();
  auto fail = [&](const std::string& what, int error) {
    ::unlink(temporary.c_str());
    throw IOError("cannot write '" + path + "': " + what + ": " + std::strerror(error));
  };
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw IOError("cannot write '" + path + "': cannot create '" + temporary + "': " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      fail("writing " + std::to_string(bytes.size()) + " bytes failed", error);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int error = errno;
    ::close(fd);
    fail("flushing to disk failed", error);
  }
  if (::close(fd) != 0) fail("closing failed", errno);
  if (::rename(temporary.c_str(), path.c_str()) != 0) fail("renaming '" + temporary + "' failed", errno);
}

}  // namespace kerosene::data
