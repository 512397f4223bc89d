#include "data/gzip.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <new>
#include <optional>

#include "kerosene/error.h"

namespace kerosene::data {
namespace {

std::string zlib_message(const z_stream& stream, int code) {
  if (stream.msg != nullptr) return stream.msg;
  return zError(code);
}

// zlib counts in uInt; feed large buffers in pieces it can hold.
constexpr size_t kMaxChunk = std::numeric_limits<uInt>::max();
constexpr size_t kInputChunk = size_t{1} << 16;
// Buffers that grow as data arrives start here and double.
constexpr size_t kFirstGrowth = size_t{1} << 20;

std::string quoted(const std::string& path) { return "'" + path + "'"; }

const char* kind_of(mode_t mode) {
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// Opens `path` as a regular file. O_NONBLOCK keeps the open of a FIFO from waiting for a
// writer; fstat then refuses it (and devices such as /dev/zero, which never end) by kind.
int open_regular(const std::string& path, uint64_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    throw IOError("cannot open " + quoted(path) + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    ::close(fd);
    throw IOError("cannot read " + quoted(path) + ": " + std::strerror(error));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    if (S_ISDIR(st.st_mode)) {
      throw IOError("cannot read " + quoted(path) + ": it is a directory, expected a file");
    }
    throw IOError("cannot read " + quoted(path) + ": it is " + kind_of(st.st_mode) +
                  ", expected a regular file (its size cannot be checked, and it may never end)");
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// Reads until `n` bytes or the end of the file; returns how many were read.
size_t read_fully(int fd, uint8_t* dst, size_t n, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    const ssize_t got = ::read(fd, dst + done, std::min<size_t>(n - done, size_t{1} << 30));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw IOError("error while reading " + quoted(path) + ": " + std::strerror(errno));
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

uint64_t saturating_mul(uint64_t a, uint64_t b) {
  return b != 0 && a > std::numeric_limits<uint64_t>::max() / b ? std::numeric_limits<uint64_t>::max()
                                                                 : a * b;
}

}  // namespace

void resize_or_throw(std::vector<uint8_t>& buffer, size_t size, const std::string& what) {
  try {
    buffer.resize(size);
  } catch (const std::bad_alloc&) {
    throw ResourceExhaustedError("out of memory: cannot allocate " + std::to_string(size) +
                                 " bytes for " + what);
  } catch (const std::length_error&) {
    throw ResourceExhaustedError("out of memory: cannot allocate " + std::to_string(size) +
                                 " bytes for " + what);
  }
}

std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes) {
  uint64_t size = 0;
  const Fd file{open_regular(path, &size)};
  if (size > max_bytes) {
    throw IOError("cannot read " + quoted(path) + ": it is " + std::to_string(size) +
                  " bytes, more than the " + std::to_string(max_bytes) + " expected of it");
  }
  std::vector<uint8_t> bytes;
  resize_or_throw(bytes, size, quoted(path));
  const size_t got = read_fully(file.fd, bytes.data(), size, path);
  uint8_t extra = 0;
  if (got != size || read_fully(file.fd, &extra, 1, path) != 0) {
    throw IOError("cannot read " + quoted(path) + ": it changed size while being read (" +
                  std::to_string(size) + " bytes when opened)");
  }
  return bytes;
}

struct ContentStream::State {
  std::string path;
  Fd file;
  uint64_t file_size = 0;
  bool gzipped = false;
  // Compressed input not yet inflated (for raw files: bytes read ahead to find the magic).
  std::vector<uint8_t> in = std::vector<uint8_t>(kInputChunk);
  size_t in_pos = 0, in_len = 0;
  bool file_ended = false;
  bool contents_ended = false;
  std::optional<uint8_t> peeked;  // at_end() reads one byte ahead
  z_stream z{};
  bool z_open = false;

  ~State() {
    if (z_open) inflateEnd(&z);
  }

  // Moves the unread input to the front and reads more after it.
  void fill() {
    if (in_pos > 0) {
      std::memmove(in.data(), in.data() + in_pos, in_len - in_pos);
      in_len -= in_pos;
      in_pos = 0;
    }
    const size_t got = read_fully(file.fd, in.data() + in_len, in.size() - in_len, path);
    in_len += got;
    if (in_len < in.size()) file_ended = true;
  }
  size_t buffered() const { return in_len - in_pos; }

  size_t inflate_into(uint8_t* dst, size_t n) {
    size_t produced = 0;
    while (produced < n && !contents_ended) {
      if (buffered() == 0 && !file_ended) fill();
      z.next_in = in.data() + in_pos;
      z.avail_in = static_cast<uInt>(buffered());
      z.next_out = dst + produced;
      z.avail_out = static_cast<uInt>(std::min(n - produced, kMaxChunk));
      const uInt in_before = z.avail_in, out_before = z.avail_out;
      const int code = inflate(&z, Z_NO_FLUSH);
      in_pos += in_before - z.avail_in;
      produced += out_before - z.avail_out;
      if (code == Z_STREAM_END) {
        // Another member may follow (as `cat a.gz b.gz` makes); anything else is ignored, as
        // gzip does.
        while (buffered() < 2 && !file_ended) fill();
        if (buffered() >= 2 && in[in_pos] == 0x1f && in[in_pos + 1] == 0x8b) {
          inflateReset(&z);
          continue;
        }
        contents_ended = true;
        break;
      }
      // Z_BUF_ERROR means no progress was possible: with output space given, the input ran out.
      if (code == Z_BUF_ERROR && buffered() == 0 && file_ended) {
        throw IOError("cannot gunzip " + quoted(path) + ": the gzip data ends early, the file's " +
                      std::to_string(file_size) + " bytes are not all of it (truncated download?)");
      }
      if (code != Z_OK) {
        throw IOError("cannot gunzip " + quoted(path) +
                      ": corrupt gzip data (zlib: " + zlib_message(z, code) + ")");
      }
    }
    return produced;
  }

  size_t copy_into(uint8_t* dst, size_t n) {
    const size_t from_buffer = std::min(n, buffered());
    std::memcpy(dst, in.data() + in_pos, from_buffer);
    in_pos += from_buffer;
    if (from_buffer == n || file_ended) return from_buffer;
    return from_buffer + read_fully(file.fd, dst + from_buffer, n - from_buffer, path);
  }
};

ContentStream::ContentStream(const std::string& path) : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.path = path;
  s.file.fd = open_regular(path, &s.file_size);
  s.fill();
  s.gzipped = s.in_len >= 2 && s.in[0] == 0x1f && s.in[1] == 0x8b;
  if (s.gzipped) {
    // 15 + 32: the largest window, and detect the gzip (or zlib) header automatically.
    const int code = inflateInit2(&s.z, 15 + 32);
    if (code != Z_OK) throw IOError("cannot gunzip " + quoted(path) + ": " + zError(code));
    s.z_open = true;
  }
}

ContentStream::~ContentStream() = default;

size_t ContentStream::read(uint8_t* dst, size_t n) {
  State& s = *state_;
  size_t done = 0;
  if (n > 0 && s.peeked) {
    dst[done++] = *s.peeked;
    s.peeked.reset();
  }
  return done + (s.gzipped ? s.inflate_into(dst + done, n - done) : s.copy_into(dst + done, n - done));
}

std::vector<uint8_t> ContentStream::read_bytes(uint64_t n, const std::string& what) {
  std::vector<uint8_t> out;
  size_t filled = 0;
  while (filled < n) {
    const size_t target = static_cast<size_t>(std::min<uint64_t>(n, std::max(kFirstGrowth, 2 * filled)));
    resize_or_throw(out, target, what);
    const size_t want = target - filled;
    const size_t got = read(out.data() + filled, want);
    filled += got;
    if (got < want) break;
  }
  out.resize(filled);
  return out;
}

bool ContentStream::at_end() {
  if (state_->peeked) return false;
  uint8_t byte = 0;
  if (read(&byte, 1) == 0) return true;
  state_->peeked = byte;
  return false;
}

const std::string& ContentStream::path() const { return state_->path; }
bool ContentStream::gzipped() const { return state_->gzipped; }
uint64_t ContentStream::file_size() const { return state_->file_size; }
uint64_t ContentStream::max_content_size() const {
  return state_->gzipped ? saturating_mul(state_->file_size, kMaxDeflateRatio) : state_->file_size;
}

std::vector<uint8_t> read_file(const std::string& path, uint64_t max_bytes) {
  ContentStream stream(path);
  std::vector<uint8_t> out = stream.read_bytes(max_bytes, "the contents of " + quoted(path));
  if (out.size() == max_bytes && !stream.at_end()) {
    throw IOError("cannot read " + quoted(path) + ": its contents expand to more than the " +
                  std::to_string(max_bytes) + " bytes expected of it");
  }
  out.shrink_to_fit();
  return out;
}

std::vector<uint8_t> inflate_raw(const uint8_t* data, size_t size, size_t expected_size,
                                 const std::string& what) {
  // 1032 bytes per compressed byte, plus slack for the block header of a tiny stream.
  if (expected_size > saturating_mul(size, kMaxDeflateRatio) + 1024) {
    throw IOError("cannot inflate " + what + ": it claims " + std::to_string(expected_size) +
                  " bytes from " + std::to_string(size) +
                  " compressed bytes, more than deflate can produce (at most " +
                  std::to_string(kMaxDeflateRatio) + " to 1): the size field is corrupt");
  }
  z_stream stream{};
  int code = inflateInit2(&stream, -15);  // negative: raw deflate, no header or trailer
  if (code != Z_OK) throw IOError("cannot inflate " + what + ": " + zError(code));
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&stream, &inflateEnd);

  // Grows as data arrives, up to one spare byte so that a stream longer than announced is seen,
  // not silently cut.
  const size_t cap = expected_size + 1;
  std::vector<uint8_t> out;
  size_t consumed = 0, produced = 0;
  while (true) {
    if (produced == out.size()) {
      resize_or_throw(out, std::min(cap, std::max(kFirstGrowth, 2 * out.size())), what);
    }
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
