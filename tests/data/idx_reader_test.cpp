// Tests for the IDX reader: every element type, gzip, the real MNIST files, and every way a
// file can be malformed.
#include "data/idx_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "data/data_test_files.h"
#include "data/gzip.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

using namespace data_testing;

template <typename T>
std::vector<T> values(const Array& a) {
  std::vector<T> v(a.bytes.size() / sizeof(T));
  std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

// The message of the IOError that reading `bytes` as an IDX file raises.
std::string idx_error(const Bytes& bytes, const std::string& name = "bad.idx") {
  TempDir dir;
  write_file(dir / name, bytes);
  try {
    read_idx(dir / name);
  } catch (const IOError& e) {
    EXPECT_CONTAINS(e.what(), dir / name);  // every message names the file
    return e.what();
  }
  ADD_FAILURE() << "no IOError for " << name;
  return "";
}

TEST(IdxReader, ReadsUnsignedBytesRawAndGzipped) {
  TempDir dir;
  const Bytes data = {0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255};
  write_file(dir / "a.idx", idx_bytes(0x08, {2, 3, 2}, data));
  write_file(dir / "a.idx.gz", gzip_bytes(idx_bytes(0x08, {2, 3, 2}, data)));
  for (const char* name : {"a.idx", "a.idx.gz"}) {
    Array a = read_idx(dir / name);
    EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 2})) << name;
    EXPECT_EQ(a.dtype, DType::uint8);
    EXPECT_EQ(a.bytes, data);
  }
}

TEST(IdxReader, JoinsConcatenatedGzipMembers) {
  TempDir dir;
  const Bytes file = idx_bytes(0x08, {6}, {1, 2, 3, 4, 5, 6});
  Bytes gz = gzip_bytes(Bytes(file.begin(), file.begin() + 9));
  const Bytes second = gzip_bytes(Bytes(file.begin() + 9, file.end()));
  gz.insert(gz.end(), second.begin(), second.end());
  write_file(dir / "two.gz", gz);
  EXPECT_EQ(read_idx(dir / "two.gz").bytes, (Bytes{1, 2, 3, 4, 5, 6}));
}

TEST(IdxReader, ConvertsWiderTypesFromBigEndian) {
  TempDir dir;
  write_file(dir / "i8", idx_bytes(0x09, {3}, {0x80, 0xFF, 0x7F}));
  write_file(dir / "i16", idx_bytes(0x0B, {2}, {0xFF, 0xFE, 0x01, 0x02}));
  write_file(dir / "i32", idx_bytes(0x0C, {2}, {0xFF, 0xFF, 0xFF, 0xFD, 0x00, 0x01, 0x00, 0x00}));
  write_file(dir / "f32", idx_bytes(0x0D, {1, 1}, {0x3F, 0xC0, 0x00, 0x00}));     // 1.5
  write_file(dir / "f64", idx_bytes(0x0E, {1}, {0xBF, 0xD0, 0, 0, 0, 0, 0, 0}));  // -0.25
  EXPECT_EQ(values<int32_t>(read_idx(dir / "i8")), (std::vector<int32_t>{-128, -1, 127}));
  EXPECT_EQ(values<int32_t>(read_idx(dir / "i16")), (std::vector<int32_t>{-2, 258}));
  EXPECT_EQ(values<int32_t>(read_idx(dir / "i32")), (std::vector<int32_t>{-3, 65536}));
  Array f = read_idx(dir / "f32");
  EXPECT_EQ(f.dtype, DType::float32);
  EXPECT_EQ(f.shape, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(values<float>(f), (std::vector<float>{1.5f}));
  Array d = read_idx(dir / "f64");
  EXPECT_EQ(d.dtype, DType::float32);
  EXPECT_EQ(values<float>(d), (std::vector<float>{-0.25f}));
}

TEST(IdxReader, ReadsEmptyAndScalarArrays) {
  TempDir dir;
  write_file(dir / "empty", idx_bytes(0x08, {0, 28, 28}, {}));
  write_file(dir / "scalar", idx_bytes(0x08, {}, {42}));
  EXPECT_EQ(read_idx(dir / "empty").shape, (std::vector<int64_t>{0, 28, 28}));
  Array s = read_idx(dir / "scalar");
  EXPECT_TRUE(s.shape.empty());
  EXPECT_EQ(s.bytes, (Bytes{42}));
}

TEST(IdxReader, ReadsRealMnist) {
  const std::string dir = mnist_directory();
  if (dir.empty()) GTEST_SKIP() << "MNIST not found (set KEROSENE_TEST_DATA)";
  Array labels = read_idx(dir + "/train-labels-idx1-ubyte.gz");
  ASSERT_EQ(labels.shape, (std::vector<int64_t>{60000}));
  EXPECT_EQ(Bytes(labels.bytes.begin(), labels.bytes.begin() + 10),
            (Bytes{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  std::vector<int> histogram(10);
  for (uint8_t y : labels.bytes) histogram.at(y)++;
  EXPECT_EQ(histogram,
            (std::vector<int>{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}));

  Array images = read_idx(dir + "/t10k-images-idx3-ubyte.gz");
  ASSERT_EQ(images.shape, (std::vector<int64_t>{10000, 28, 28}));
  EXPECT_EQ(images.dtype, DType::uint8);
  // Sums computed from the original files with Python's gzip module.
  EXPECT_EQ(std::accumulate(images.bytes.begin(), images.bytes.begin() + 784, 0), 18454);
  EXPECT_EQ(std::accumulate(images.bytes.end() - 784, images.bytes.end(), 0), 41833);
  EXPECT_EQ(std::accumulate(images.bytes.begin(), images.bytes.end(), int64_t{0}), 264923200);
  EXPECT_EQ(images.bytes[202], 84);  // the first non-zero pixel
}

TEST(IdxReader, MissingFileIsNamed) {
  TempDir dir;
  try {
    read_idx(dir / "nope-idx1-ubyte");
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    EXPECT_CONTAINS(e.what(), dir / "nope-idx1-ubyte");
    EXPECT_CONTAINS(e.what(), "No such file");
  }
  EXPECT_THROW(read_idx(dir.path().string()), IOError);  // a directory
}

TEST(IdxReader, TruncatedDataSaysExpectedAndFound) {
  const std::string message = idx_error(idx_bytes(0x08, {3, 2, 2}, Bytes(10, 7)));
  EXPECT_CONTAINS(message, "truncated");
  EXPECT_CONTAINS(message, "(3, 2, 2)");
  EXPECT_CONTAINS(message, "12 data bytes, found 10");
  // The same through gzip: the gzip stream is whole, the IDX inside is short.
  EXPECT_CONTAINS(idx_error(gzip_bytes(idx_bytes(0x0D, {4}, Bytes(15, 0))), "short.gz"),
                  "16 data bytes, found 15");
}

TEST(IdxReader, TrailingDataIsAnError) {
  EXPECT_CONTAINS(idx_error(idx_bytes(0x08, {2}, {1, 2, 3})), "2 data bytes, found 3");
}

TEST(IdxReader, TruncatedHeader) {
  EXPECT_CONTAINS(idx_error({0, 0, 8}), "found 3 bytes");
  EXPECT_CONTAINS(idx_error({0, 0, 8, 3, 0, 0, 0, 1, 0, 0}), "need 16 header bytes, found 10");
  EXPECT_CONTAINS(idx_error({}), "found 0 bytes");
}

TEST(IdxReader, BadMagic) {
  EXPECT_CONTAINS(idx_error({'P', 'K', 3, 4, 0, 0, 0, 0}), "found 0x50 0x4b");
  EXPECT_CONTAINS(idx_error({0, 1, 8, 1, 0, 0, 0, 0}), "bad magic");
}

TEST(IdxReader, UnknownType) {
  EXPECT_CONTAINS(idx_error(idx_bytes(0x0A, {1}, {0})), "unknown element type 0x0a");
}

TEST(IdxReader, HugeShapeDoesNotOverflow) {
  // 2^32-1 to the fourth power wraps a 64-bit product; the reader must say so, not allocate.
  EXPECT_CONTAINS(idx_error(idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1})),
                  "corrupt header");
  EXPECT_CONTAINS(idx_error(idx_bytes(0x0E, {0x10000, 0x10000}, {1})), "truncated");
}

TEST(IdxReader, CorruptGzipCarriesZlibMessage) {
  Bytes gz = gzip_bytes(idx_bytes(0x08, {64}, Bytes(64, 9)));
  gz[3] = 0xE0;  // reserved flag bits: zlib rejects the header
  const std::string message = idx_error(gz, "corrupt.gz");
  EXPECT_CONTAINS(message, "corrupt gzip data (zlib: ");
  EXPECT_CONTAINS(message, "unknown header flags set");

  Bytes bad_crc = gzip_bytes(idx_bytes(0x08, {64}, Bytes(64, 9)));
  bad_crc[bad_crc.size() - 6] ^= 0xFF;  // the CRC in the trailer
  EXPECT_CONTAINS(idx_error(bad_crc, "crc.gz"), "incorrect data check");
}

TEST(IdxReader, TruncatedGzip) {
  const Bytes gz = gzip_bytes(idx_bytes(0x08, {1000}, Bytes(1000, 1)));
  EXPECT_CONTAINS(idx_error(Bytes(gz.begin(), gz.begin() + gz.size() / 2), "half.gz"),
                  "ends early");
  EXPECT_CONTAINS(idx_error({0x1f, 0x8b}, "magic-only.gz"), "ends early");
}

TEST(Gzip, InflateRawChecksTheSize) {
  const Bytes data(5000, 3);
  const Bytes deflated = deflate_bytes(data, -15);
  EXPECT_EQ(inflate_raw(deflated.data(), deflated.size(), data.size(), "x"), data);
  EXPECT_THROW(inflate_raw(deflated.data(), deflated.size(), data.size() - 1, "x"), IOError);
  EXPECT_THROW(inflate_raw(deflated.data(), deflated.size(), data.size() + 1, "x"), IOError);
  EXPECT_THROW(inflate_raw(deflated.data(), deflated.size() / 2, data.size(), "x"), IOError);
  EXPECT_EQ(crc32_of(data.data(), data.size()),
            static_cast<uint32_t>(crc32(0, data.data(), static_cast<uInt>(data.size()))));
}

}  // namespace
}  // namespace kerosene::data
