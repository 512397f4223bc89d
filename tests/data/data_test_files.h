// Helpers for the data tests: a temporary directory, scoped environment variables, and
// writers for small IDX, gzip, .npy and ZIP files, built byte by byte so that every malformed
// variant a reader must reject can be made.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "kerosene/error.h"
#include "real_data.h"

/// Expects `text` to contain `part`, printing the whole text when it does not.
#define EXPECT_CONTAINS(text, part)                          \
  EXPECT_NE(std::string(text).find(part), std::string::npos) \
      << "expected to find \"" << (part) << "\" in:\n"       \
      << (text)

namespace kerosene::data_testing {

using Bytes = std::vector<uint8_t>;
namespace fs = std::filesystem;

/// A fresh directory under the system temp directory, removed with its contents at scope exit.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("kerosene_data_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

/// Sets (or, with nullopt, unsets) an environment variable, restoring it at scope exit.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      setenv(name, value->c_str(), 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

inline void write_file(const std::string& path, const Bytes& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline void put_be32(Bytes& b, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(v >> s));
}
inline void put_le(Bytes& b, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

/// An IDX file: magic 00 00, `type`, rank, big-endian dims, then `data` as given.
inline Bytes idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const Bytes& data) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// Compressed with zlib's deflate; window_bits -15 gives raw deflate (ZIP), 15 + 16 gzip.
inline Bytes deflate_bytes(const Bytes& in, int window_bits) {
  z_stream s{};
  EXPECT_EQ(deflateInit2(&s, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&s, in.size()) + 64);
  s.next_in = const_cast<uint8_t*>(in.data());
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = out.data();
  s.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&s, Z_FINISH), Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}
inline Bytes gzip_bytes(const Bytes& in) { return deflate_bytes(in, 15 + 16); }

/// A .npy file whose header dict is `dict` (written as is, so malformed ones can be made).
inline Bytes npy_with_header(const std::string& dict, const Bytes& data, int major = 1) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  put_le(b, header.size(), major == 1 ? 2 : 4);
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

/// A .npy file as np.save writes it.
inline Bytes npy_bytes(const std::string& descr, const std::string& shape, const Bytes& data,
                       bool fortran_order = false) {
  return npy_with_header("{'descr': '" + descr + "', 'fortran_order': " +
                             (fortran_order ? "True" : "False") + ", 'shape': " + shape + ", }",
                         data);
}

template <typename T>
Bytes raw_bytes(const std::vector<T>& values) {
  Bytes b(values.size() * sizeof(T));
  if (!b.empty()) std::memcpy(b.data(), values.data(), b.size());
  return b;
}

struct ZipMember {
  std::string name;
  Bytes data;
  bool deflate = false;
  // As np.savez writes: sizes 0xFFFFFFFF in the local header, the real ones in a ZIP64 extra
  // field there and in the central directory.
  bool numpy_local_header = false;
};

/// A ZIP archive of `members` (no ZIP64 end records, no comment).
inline Bytes zip_bytes(const std::vector<ZipMember>& members) {
  Bytes out, directory;
  for (const ZipMember& m : members) {
    const Bytes body = m.deflate ? deflate_bytes(m.data, -15) : m.data;
    const uint32_t crc =
        static_cast<uint32_t>(crc32(0, m.data.data(), static_cast<uInt>(m.data.size())));
    const uint16_t method = m.deflate ? 8 : 0;
    const uint32_t offset = static_cast<uint32_t>(out.size());
    put_le(out, 0x04034b50, 4);
    put_le(out, 20, 2);
    put_le(out, 0, 2);
    put_le(out, method, 2);
    put_le(out, 0, 4);  // time, date
    put_le(out, crc, 4);
    put_le(out, m.numpy_local_header ? 0xFFFFFFFF : body.size(), 4);
    put_le(out, m.numpy_local_header ? 0xFFFFFFFF : m.data.size(), 4);
    put_le(out, m.name.size(), 2);
    put_le(out, m.numpy_local_header ? 20 : 0, 2);
    out.insert(out.end(), m.name.begin(), m.name.end());
    if (m.numpy_local_header) {
      put_le(out, 1, 2);  // ZIP64 extended information
      put_le(out, 16, 2);
      put_le(out, m.data.size(), 8);
      put_le(out, body.size(), 8);
    }
    out.insert(out.end(), body.begin(), body.end());

    put_le(directory, 0x02014b50, 4);
    put_le(directory, 20, 2);
    put_le(directory, 20, 2);
    put_le(directory, 0, 2);
    put_le(directory, method, 2);
    put_le(directory, 0, 4);
    put_le(directory, crc, 4);
    put_le(directory, body.size(), 4);
    put_le(directory, m.data.size(), 4);
    put_le(directory, m.name.size(), 2);
    put_le(directory, 0, 2);  // extra
    put_le(directory, 0, 2);  // comment
    put_le(directory, 0, 2);  // disk
    put_le(directory, 0, 2);  // internal attributes
    put_le(directory, 0, 4);  // external attributes
    put_le(directory, offset, 4);
    directory.insert(directory.end(), m.name.begin(), m.name.end());
  }
  const uint32_t directory_offset = static_cast<uint32_t>(out.size());
  out.insert(out.end(), directory.begin(), directory.end());
  put_le(out, 0x06054b50, 4);
  put_le(out, 0, 4);  // disk numbers
  put_le(out, members.size(), 2);
  put_le(out, members.size(), 2);
  put_le(out, directory.size(), 4);
  put_le(out, directory_offset, 4);
  put_le(out, 0, 2);
  return out;
}

/// The message of the kerosene::Error that `f` throws; a test failure if it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no error was thrown";
  return "";
}

/// The directory of the real MNIST IDX files, for tests that check MNIST's own values: where
/// test_util::real_data() found MNIST (KEROSENE_TEST_DATA, KEROSENE_DATASETS, ../shared beside
/// the source tree, ...) if that is a directory; empty if MNIST is not on this machine.
inline std::string mnist_directory() {
  const auto& data = test_util::real_data();
  return data && data->name == "mnist" && fs::is_directory(data->path) ? data->path : "";
}

}  // namespace kerosene::data_testing
