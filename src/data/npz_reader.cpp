#include "data/npz_reader.h"

#include <iterator>
#include <string_view>

#include "data/gzip.h"
#include "data/npy_reader.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

uint64_t load_le(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
  return v;
}

constexpr uint32_t kEndOfCentralDirectory = 0x06054b50;
constexpr uint32_t kCentralDirectoryEntry = 0x02014b50;
constexpr uint32_t kLocalHeader = 0x04034b50;
constexpr size_t kEndRecordSize = 22, kEntrySize = 46, kLocalHeaderSize = 30;

// Bounds-checked view of the archive, so that no offset read from the file can go outside it.
struct Archive {
  const std::vector<uint8_t>& bytes;
  std::string path;

  bool has(uint64_t offset, uint64_t size) const {
    return offset <= bytes.size() && size <= bytes.size() - offset;
  }
  uint64_t le(uint64_t offset, size_t n) const { return load_le(bytes.data() + offset, n); }
  [[noreturn]] void fail(const std::string& what) const {
    throw IOError("cannot read .npz file '" + path + "': " + what);
  }
};

// The end-of-central-directory record sits in the last 22 + up to 65535 (comment) bytes.
uint64_t find_end_record(const Archive& zip) {
  const size_t size = zip.bytes.size();
  if (size < kEndRecordSize) {
    zip.fail("expected a ZIP archive of at least 22 bytes, found " + std::to_string(size) +
             " bytes");
  }
  const size_t lowest = size > kEndRecordSize + 0xFFFF ? size - kEndRecordSize - 0xFFFF : 0;
  for (size_t at = size - kEndRecordSize + 1; at-- > lowest;) {
    if (zip.le(at, 4) == kEndOfCentralDirectory) return at;
  }
  const bool zip_start = zip.bytes[0] == 'P' && zip.bytes[1] == 'K';
  zip.fail(zip_start ? "the ZIP archive has no end-of-central-directory record (truncated?)"
                     : "expected a ZIP archive (starting with \"PK\"), found other data");
}

// Members whose data overlap would let a small archive expand to any size (one deflated block
// named by thousands of entries): each byte of the file may belong to one member only.
class DataRanges {
 public:
  bool claim(uint64_t begin, uint64_t end) {
    auto next = ranges_.lower_bound(begin);
    if (next != ranges_.end() && next->first < end) return false;
    if (next != ranges_.begin() && std::prev(next)->second > begin) return false;
    ranges_.emplace(begin, end);
    return true;
  }

 private:
  std::map<uint64_t, uint64_t> ranges_;  // begin -> end of each member's header and data
};

Array read_member(const Archive& zip, uint64_t entry, const std::string& name, DataRanges& used) {
  const std::string what = "member '" + name + "'";
  const uint64_t flags = zip.le(entry + 8, 2), method = zip.le(entry + 10, 2);
  const uint64_t crc = zip.le(entry + 16, 4), compressed = zip.le(entry + 20, 4);
  const uint64_t size = zip.le(entry + 24, 4), local = zip.le(entry + 42, 4);
  if (compressed == 0xFFFFFFFF || size == 0xFFFFFFFF || local == 0xFFFFFFFF) {
    zip.fail(what + " uses ZIP64 extensions (members over 4 GiB), which are not supported");
  }
  if (flags & 1) zip.fail(what + " is encrypted, which is not supported");
  if (!zip.has(local, kLocalHeaderSize) || zip.le(local, 4) != kLocalHeader) {
    zip.fail(what + ": expected a local file header at offset " + std::to_string(local) +
             ", found none (corrupt archive)");
  }
  // Sizes come from the central directory: NumPy writes 0xFFFFFFFF in local headers.
  const uint64_t data = local + kLocalHeaderSize + zip.le(local + 26, 2) + zip.le(local + 28, 2);
  if (!zip.has(data, compressed)) {
    zip.fail(what + " is truncated: expected " + std::to_string(compressed) +
             " bytes of data at offset " + std::to_string(data) + ", the file has " +
             std::to_string(zip.bytes.size()) + " bytes");
  }
  if (!used.claim(local, data + compressed)) {
    zip.fail(what + " shares its data with another member (offsets " + std::to_string(local) +
             " to " + std::to_string(data + compressed) + "): the archive is corrupt or malicious");
  }
  const uint8_t* begin = zip.bytes.data() + data;
  std::vector<uint8_t> npy;
  if (method == 0) {
    if (compressed != size) {
      zip.fail(what + " is stored with " + std::to_string(compressed) + " bytes but claims " +
               std::to_string(size) + " (corrupt archive)");
    }
    npy.assign(begin, begin + size);
  } else if (method == 8) {
    npy = inflate_raw(begin, compressed, size, "'" + zip.path + "' " + what);
  } else {
    zip.fail(what + " uses compression method " + std::to_string(method) +
             ": expected 0 (stored) or 8 (deflate)");
  }
  const uint32_t actual = crc32_of(npy.data(), npy.size());
  if (actual != crc) {
    zip.fail(what + " is corrupt: CRC-32 mismatch (expected " + std::to_string(crc) + ", found " +
             std::to_string(actual) + ")");
  }
  return parse_npy(npy, "'" + zip.path + "' " + what);
}

}  // namespace

std::map<std::string, Array> read_npz(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path);
  const Archive zip{bytes, path};
  const uint64_t end = find_end_record(zip);
  const uint64_t disk = zip.le(end + 4, 2), cd_disk = zip.le(end + 6, 2);
  const uint64_t entries = zip.le(end + 10, 2), cd_size = zip.le(end + 12, 4);
  const uint64_t cd_offset = zip.le(end + 16, 4);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    zip.fail("it is a ZIP64 archive (over 65535 members or 4 GiB), which is not supported");
  }
  if (disk != 0 || cd_disk != 0) zip.fail("multi-disk ZIP archives are not supported");
  if (!zip.has(cd_offset, cd_size)) {
    zip.fail("the central directory (" + std::to_string(cd_size) + " bytes at offset " +
             std::to_string(cd_offset) + ") lies outside the file of " +
             std::to_string(bytes.size()) + " bytes (truncated or corrupt archive)");
  }
  std::map<std::string, Array> arrays;
  DataRanges used;
  uint64_t at = cd_offset;
  for (uint64_t i = 0; i < entries; ++i) {
    if (!zip.has(at, kEntrySize) || at + kEntrySize > cd_offset + cd_size ||
        zip.le(at, 4) != kCentralDirectoryEntry) {
      zip.fail("central directory entry " + std::to_string(i) + " of " + std::to_string(entries) +
               " is missing or corrupt");
    }
    const uint64_t name_size = zip.le(at + 28, 2);
    const uint64_t next = at + kEntrySize + name_size + zip.le(at + 30, 2) + zip.le(at + 32, 2);
    if (!zip.has(at + kEntrySize, name_size) || next > cd_offset + cd_size) {
      zip.fail("central directory entry " + std::to_string(i) + " runs past the directory");
    }
    std::string name(reinterpret_cast<const char*>(bytes.data() + at + kEntrySize), name_size);
    // np.savez adds ".npy" to every key; directories and other members are not arrays.
    constexpr std::string_view suffix = ".npy";
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      std::string key = name.substr(0, name.size() - suffix.size());
      arrays[key] = read_member(zip, at, name, used);
    }
    at = next;
  }
  return arrays;
}

}  // namespace kerosene::data
