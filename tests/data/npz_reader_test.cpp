// Tests for the .npz and .npy readers on archives written byte by byte here: stored and
// deflated members, every accepted dtype, NumPy's ZIP64 local headers, and every malformed case.
#include "data/npz_reader.h"

#include <gtest/gtest.h>

#include <cstring>

#include "data/data_test_files.h"
#include "data/npy_reader.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

using namespace data_testing;

template <typename T>
std::vector<T> values(const Array& a) {
  std::vector<T> v(a.bytes.size() / sizeof(T));
  if (!v.empty()) std::memcpy(v.data(), a.bytes.data(), a.bytes.size());
  return v;
}

// The message of the IOError that reading `bytes` as a .npz file raises.
std::string npz_error(const Bytes& bytes) {
  TempDir dir;
  write_file(dir / "bad.npz", bytes);
  try {
    read_npz(dir / "bad.npz");
  } catch (const IOError& e) {
    EXPECT_CONTAINS(e.what(), dir / "bad.npz");  // every message names the file
    return e.what();
  }
  ADD_FAILURE() << "no IOError";
  return "";
}

// The message for an archive holding the one member "a.npy" with these bytes.
std::string member_error(const Bytes& npy) {
  const std::string message = npz_error(zip_bytes({{"a.npy", npy}}));
  EXPECT_CONTAINS(message, "a.npy");
  return message;
}

const Bytes kU8 = {1, 2, 3, 4, 5, 6};

TEST(NpzReader, ReadsStoredAndDeflatedMembers) {
  TempDir dir;
  const std::vector<float> f = {0.5f, -1.0f, 3.25f};
  write_file(dir / "a.npz",
             zip_bytes({{"x_train.npy", npy_bytes("|u1", "(2, 3)", kU8)},
                        {"y_train.npy", npy_bytes("<f4", "(3,)", raw_bytes(f)), true},
                        {"notes.txt", {'h', 'i'}},
                        {"dir/", {}}}));
  std::map<std::string, Array> arrays = read_npz(dir / "a.npz");
  ASSERT_EQ(arrays.size(), 2u);  // only .npy members are arrays
  EXPECT_EQ(arrays["x_train"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(arrays["x_train"].dtype, DType::uint8);
  EXPECT_EQ(arrays["x_train"].bytes, kU8);
  EXPECT_EQ(arrays["y_train"].shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(arrays["y_train"].dtype, DType::float32);
  EXPECT_EQ(values<float>(arrays["y_train"]), f);
}

TEST(NpzReader, ConvertsEveryAcceptedDtype) {
  TempDir dir;
  const std::vector<int32_t> i4 = {-7, 1 << 30};
  const std::vector<int64_t> i8 = {-(int64_t{1} << 40), 3};
  const std::vector<double> f8 = {0.1, -2.5};
  write_file(dir / "t.npz",
             zip_bytes({{"i1.npy", npy_bytes("|i1", "(3,)", {0x80, 0xFF, 5}), true},
                        {"i4.npy", npy_bytes("<i4", "(2,)", raw_bytes(i4))},
                        {"i8.npy", npy_bytes("<i8", "(1, 2)", raw_bytes(i8)), true},
                        {"f8.npy", npy_bytes("<f8", "(2,)", raw_bytes(f8))},
                        {"scalar.npy", npy_bytes("<i4", "()", raw_bytes(std::vector<int32_t>{9}))},
                        {"empty.npy", npy_bytes("|u1", "(0, 28)", {}), true}}));
  std::map<std::string, Array> a = read_npz(dir / "t.npz");
  EXPECT_EQ(a["i1"].dtype, DType::int32);
  EXPECT_EQ(values<int32_t>(a["i1"]), (std::vector<int32_t>{-128, -1, 5}));
  EXPECT_EQ(values<int32_t>(a["i4"]), i4);
  EXPECT_EQ(a["i8"].dtype, DType::int64);
  EXPECT_EQ(a["i8"].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(values<int64_t>(a["i8"]), i8);
  EXPECT_EQ(a["f8"].dtype, DType::float32);
  EXPECT_EQ(values<float>(a["f8"]), (std::vector<float>{0.1f, -2.5f}));
  EXPECT_TRUE(a["scalar"].shape.empty());
  EXPECT_EQ(values<int32_t>(a["scalar"]), (std::vector<int32_t>{9}));
  EXPECT_EQ(a["empty"].shape, (std::vector<int64_t>{0, 28}));
  EXPECT_TRUE(a["empty"].bytes.empty());
}

TEST(NpzReader, ReadsWhatNumpyWrites) {
  // np.savez: sizes only in the central directory and a ZIP64 extra field; Python 2 wrote
  // shapes as (2L, 3L); format 2.0 has a 4-byte header length; double quotes are valid Python.
  TempDir dir;
  ZipMember numpy_style{"x.npy", npy_bytes("|u1", "(2L, 3L)", kU8), true, true};
  ZipMember stored_numpy_style{"y.npy", npy_bytes("|u1", "(6,)", kU8), false, true};
  ZipMember version2{
      "z.npy",
      npy_with_header("{\"descr\": \"|u1\", \"shape\": (3, 2), \"fortran_order\": False}", kU8, 2)};
  write_file(dir / "n.npz", zip_bytes({numpy_style, stored_numpy_style, version2}));
  std::map<std::string, Array> a = read_npz(dir / "n.npz");
  EXPECT_EQ(a["x"].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(a["x"].bytes, kU8);
  EXPECT_EQ(a["y"].bytes, kU8);
  EXPECT_EQ(a["z"].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(a["z"].bytes, kU8);
}

TEST(NpyReader, ReadsAFile) {
  TempDir dir;
  write_file(dir / "a.npy", npy_bytes("<u1", "(6,)", kU8));
  EXPECT_EQ(read_npy(dir / "a.npy").bytes, kU8);
  EXPECT_THROW(read_npy(dir / "missing.npy"), IOError);
}

TEST(NpzReader, MissingFile) {
  TempDir dir;
  try {
    read_npz(dir / "mnist.npz");
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    EXPECT_CONTAINS(e.what(), dir / "mnist.npz");
    EXPECT_CONTAINS(e.what(), "No such file");
  }
}

TEST(NpzReader, NotAZipArchive) {
  EXPECT_CONTAINS(npz_error(Bytes(100, 'x')), "expected a ZIP archive");
  EXPECT_CONTAINS(npz_error({'P', 'K'}), "at least 22 bytes, found 2");
  EXPECT_CONTAINS(npz_error(gzip_bytes(Bytes(100, 1))), "expected a ZIP archive");
}

TEST(NpzReader, TruncatedArchive) {
  const Bytes zip = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  // Cut off the end record.
  EXPECT_CONTAINS(npz_error(Bytes(zip.begin(), zip.end() - 10)), "no end-of-central-directory");
  // Keep the end record, lose the data before it: the directory then points outside the file.
  Bytes tail(zip.end() - 22, zip.end());
  EXPECT_CONTAINS(npz_error(tail), "outside the file");
}

TEST(NpzReader, MemberDataOutsideTheFile) {
  Bytes zip = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  const size_t directory = zip.size() - 22 - 46 - 5;  // the one central directory entry
  zip[directory + 20] = 0xFF;                         // compressed size: 255 + ...
  zip[directory + 24] = 0xFF;                         // ... and the same uncompressed
  EXPECT_CONTAINS(npz_error(zip), "truncated");
  Bytes bad_offset = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  bad_offset[directory + 42] = 0x40;  // local header offset
  EXPECT_CONTAINS(npz_error(bad_offset), "expected a local file header");
}

TEST(NpzReader, CorruptMembers) {
  Bytes zip = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  zip[zip.size() - 22 - 46 - 5 - 1] ^= 0xFF;  // the last data byte, before the directory
  EXPECT_CONTAINS(npz_error(zip), "CRC-32 mismatch");

  Bytes deflated = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8), true}});
  deflated[30 + 5] = 0xFF;  // the first deflate block header: an invalid block type
  EXPECT_CONTAINS(npz_error(deflated), "zlib: ");

  Bytes method = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  method[method.size() - 22 - 46 - 5 + 10] = 12;  // bzip2
  EXPECT_CONTAINS(npz_error(method), "compression method 12");

  Bytes zip64 = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  for (size_t i = zip64.size() - 6; i < zip64.size() - 2; ++i) zip64[i] = 0xFF;
  EXPECT_CONTAINS(npz_error(zip64), "ZIP64");

  Bytes entries = zip_bytes({{"a.npy", npy_bytes("|u1", "(6,)", kU8)}});
  entries[entries.size() - 12] = 3;  // claims three entries, holds one
  EXPECT_CONTAINS(npz_error(entries), "entry 1 of 3");
}

TEST(NpzReader, RejectsUnsupportedArrays) {
  EXPECT_CONTAINS(member_error(npy_bytes(">i4", "(1,)", {0, 0, 0, 1})), "big-endian");
  EXPECT_CONTAINS(member_error(npy_bytes("<c8", "(1,)", Bytes(8))), "dtype '<c8': expected one of");
  EXPECT_CONTAINS(member_error(npy_bytes("<u8", "(1,)", Bytes(8))), "dtype '<u8': expected one of");
  EXPECT_CONTAINS(member_error(npy_bytes("|O", "(1,)", Bytes(8))), "dtype '|O': expected one of");
  EXPECT_CONTAINS(
      member_error(npy_with_header(
          "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", Bytes(4))),
      "structured dtypes are not supported");
}

TEST(NpzReader, MalformedNpy) {
  EXPECT_CONTAINS(member_error(npy_bytes("<i4", "(2, 3)", Bytes(20))),
                  "truncated: dtype '<i4' and its shape need 24 data bytes, found 20");
  EXPECT_CONTAINS(member_error(npy_bytes("<i4", "(1,)", Bytes(8))), "trailing data");
  EXPECT_CONTAINS(member_error(Bytes(20, 'x')), "not a .npy array");
  EXPECT_CONTAINS(member_error(npy_with_header("{'descr': '<i4', 'shape': (1,)", Bytes(4))),
                  "malformed .npy header");
  EXPECT_CONTAINS(member_error(npy_with_header("{'descr': '<i4', 'shape': (1,), }", Bytes(4))),
                  "without 'descr', 'fortran_order' and 'shape'");
  EXPECT_CONTAINS(member_error(npy_bytes("|u1", "(4294967296, 4294967296, 4294967296)", {})),
                  "overflows");
  EXPECT_CONTAINS(member_error(npy_bytes("|u1", "(99999999999999999999,)", {})), "too large");
  Bytes version = npy_bytes("|u1", "(6,)", kU8);
  version[6] = 9;
  EXPECT_CONTAINS(member_error(version), "version 9.0");
  Bytes long_header = npy_bytes("|u1", "(6,)", kU8);
  long_header[8] = 0xFF, long_header[9] = 0xFF;  // header length past the end of the member
  EXPECT_CONTAINS(member_error(long_header), "truncated");
}

}  // namespace
}  // namespace kerosene::data
