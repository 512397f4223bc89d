#include "fuzz/fuzz_entries.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/gzip.h"
#include "data/idx_reader.h"
#include "data/npy_reader.h"
#include "data/npz_reader.h"
#include "data/pickle_reader.h"
#include "data/tar_reader.h"
#include "kerosene/error.h"

namespace kerosene::fuzz {
namespace {

// The path readers get a file in memory (no disk traffic per input), named by its
// /proc/self/fd path. A failure here is the harness's, so it is not a kerosene::Error.
class MemoryFile {
 public:
  MemoryFile(const uint8_t* data, size_t size) : fd_(memfd_create("kerosene_fuzz", MFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error(std::string("memfd_create: ") + std::strerror(errno));
    for (size_t done = 0; done < size;) {
      const ssize_t n = write(fd_, data + done, size - done);
      if (n <= 0) {
        close(fd_);
        throw std::runtime_error(std::string("write to memfd: ") + std::strerror(errno));
      }
      done += static_cast<size_t>(n);
    }
  }
  ~MemoryFile() { close(fd_); }
  MemoryFile(const MemoryFile&) = delete;
  MemoryFile& operator=(const MemoryFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

std::vector<uint8_t> gzipped(const uint8_t* data, size_t size) {
  z_stream stream{};
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    throw std::runtime_error("deflateInit2 failed");
  }
  std::vector<uint8_t> out(deflateBound(&stream, size));
  stream.next_in = const_cast<uint8_t*>(data);
  stream.avail_in = static_cast<uInt>(size);
  stream.next_out = out.data();
  stream.avail_out = static_cast<uInt>(out.size());
  const int code = deflate(&stream, Z_FINISH);
  deflateEnd(&stream);
  if (code != Z_STREAM_END) throw std::runtime_error("deflate failed");
  out.resize(stream.total_out);
  return out;
}

// Runs a reader; a kerosene::Error is a rejection, anything else goes to the caller.
template <typename F>
bool accepted(F&& read) {
  try {
    read();
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace

bool idx(const uint8_t* data, size_t size) {
  const MemoryFile file(data, size);
  return accepted([&] { data::read_idx(file.path()); });
}

bool idx_gz(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> gz = gzipped(data, size);
  const MemoryFile file(gz.data(), gz.size());
  return accepted([&] { data::read_idx(file.path()); });
}

bool npy(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> bytes(data, data + size);
  return accepted([&] { data::parse_npy(bytes, "fuzz input"); });
}

bool npz(const uint8_t* data, size_t size) {
  const MemoryFile file(data, size);
  return accepted([&] { data::read_npz(file.path()); });
}

bool gzip(const uint8_t* data, size_t size) {
  const MemoryFile file(data, size);
  return accepted([&] { data::read_file(file.path()); });
}

bool pickle(const uint8_t* data, size_t size) {
  return accepted([&] { data::read_cifar_pickle(data, size, "fuzz input"); });
}

bool tar(const uint8_t* data, size_t size) {
  const MemoryFile file(data, size);
  return accepted([&] {
    data::TarReader reader(file.path());
    while (reader.next()) reader.read(1 << 20);
  });
}

std::span<const Target> targets() {
  static constexpr std::array<Target, 7> kTargets{{
      {"idx", &idx},
      {"idx_gz", &idx_gz},
      {"npy", &npy},
      {"npz", &npz},
      {"gzip", &gzip},
      {"pickle", &pickle},
      {"tar", &tar},
  }};
  return kTargets;
}

}  // namespace kerosene::fuzz
