#include "io/regular_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kerosene/error.h"

namespace kerosene::io {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

RegularFile check_regular_file(const std::string& path, size_t head_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    std::string message = path;
    message += ": cannot open: ";
    message += std::strerror(error);
    throw IOError(message);
  }
  struct stat st {};
  RegularFile file;
  const bool statted = ::fstat(fd, &st) == 0;
  if (statted && S_ISREG(st.st_mode) && head_bytes > 0) {
    file.head.resize(head_bytes);
    const ssize_t got = ::pread(fd, file.head.data(), head_bytes, 0);
    file.head.resize(got > 0 ? static_cast<size_t>(got) : 0);
  }
  ::close(fd);
  if (!statted) throw IOError(path + ": cannot stat");
  if (!S_ISREG(st.st_mode)) {
    std::string message = path;
    message += ": expected a regular file, found ";
    message += kind_of(st.st_mode);
    throw IOError(message);
  }
  file.size = static_cast<uint64_t>(st.st_size);
  return file;
}

}  // namespace kerosene::io
