#include "data/tar_reader.h"

#include <algorithm>
#include <cstring>

#include "kerosene/error.h"

namespace kerosene::data {
namespace {

constexpr size_t kBlock = 512;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// A header's octal number, padded with spaces or NULs. False for anything else, GNU's base-256
// form included (used only for members over 8 GiB, which no dataset tarball holds).
bool octal(const uint8_t* field, size_t n, uint64_t* value) {
  size_t i = 0;
  while (i < n && field[i] == ' ') ++i;
  uint64_t v = 0;
  const size_t first = i;
  for (; i < n && field[i] >= '0' && field[i] <= '7'; ++i) v = v * 8 + (field[i] - '0');  // 12 digits: 36 bits
  const bool digits = i > first;
  for (; i < n; ++i) {
    if (field[i] != ' ' && field[i] != '\0') return false;
  }
  *value = v;
  return digits;
}

std::string text(const uint8_t* field, size_t n) {
  const char* p = reinterpret_cast<const char*>(field);
  return std::string(p, strnlen(p, n));
}

}  // namespace

TarReader::TarReader(const std::string& path) : stream_(path) {}

std::string TarReader::describe() const { return quoted(stream_.path()) + " member " + quoted(name_); }

void TarReader::skip(uint64_t n) {
  uint8_t scratch[16384];
  while (n > 0) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(n, sizeof scratch));
    const size_t got = stream_.read(scratch, want);
    offset_ += got;
    n -= got;
    if (got < want) {
      throw IOError(describe() + " is cut short at offset " + std::to_string(offset_) + " (a truncated archive?)");
    }
  }
}

bool TarReader::next() {
  skip(data_left_ + padding_);
  data_left_ = padding_ = 0;
  for (;;) {
    uint8_t h[kBlock];
    const uint64_t at = offset_;
    const size_t got = stream_.read(h, kBlock);
    offset_ += got;
    if (got == 0) return false;  // the data ends at a header: a tar without its end blocks
    const std::string where = quoted(stream_.path()) + ": the tar header at offset " + std::to_string(at);
    if (got < kBlock) throw IOError(where + " is cut short (a truncated archive?)");
    if (std::all_of(h, h + kBlock, [](uint8_t b) { return b == 0; })) return false;  // the end blocks
    // The checksum sums the header with its own field as spaces; old tars summed signed bytes.
    uint64_t stored = 0, size = 0, sum = 0;
    int64_t signed_sum = 0;
    for (size_t i = 0; i < kBlock; ++i) {
      const uint8_t b = i >= 148 && i < 156 ? ' ' : h[i];
      sum += b;
      signed_sum += static_cast<int8_t>(b);
    }
    if (!octal(h + 148, 8, &stored) || (stored != sum && static_cast<int64_t>(stored) != signed_sum)) {
      throw IOError(where + " has a bad checksum: not a tar archive, or a corrupt one");
    }
    if (!octal(h + 124, 12, &size)) throw IOError(where + " has a size field that is not an octal number");
    name_ = text(h, 100);
    if (std::memcmp(h + 257, "ustar", 5) == 0 && h[345] != 0) name_ = text(h + 345, 155) + "/" + name_;
    size_ = size;
    const char type = static_cast<char>(h[156]);
    // Links, devices, directories and FIFOs ('1' to '6') have no data whatever their size says,
    // as Python's tarfile reads them; pax and GNU records ('x', 'g', 'L', 'K') have theirs.
    data_left_ = type >= '1' && type <= '6' ? 0 : size;
    padding_ = (kBlock - data_left_ % kBlock) % kBlock;
    if (type == '0' || type == '\0' || type == '7') return true;
    skip(data_left_ + padding_);
    data_left_ = padding_ = 0;
  }
}

std::vector<uint8_t> TarReader::read(uint64_t max_bytes) {
  if (data_left_ > max_bytes) {
    throw IOError(describe() + " holds " + std::to_string(data_left_) + " bytes, more than the " +
                  std::to_string(max_bytes) + " expected of it");
  }
  std::vector<uint8_t> bytes = stream_.read_bytes(data_left_, describe());
  offset_ += bytes.size();
  if (bytes.size() < data_left_) {
    throw IOError(describe() + " is cut short: " + std::to_string(bytes.size()) + " of its " +
                  std::to_string(data_left_) + " bytes are there (a truncated archive?)");
  }
  data_left_ = 0;
  return bytes;
}

}  // namespace kerosene::data
