// H5File/H5Group: round trips in memory and through save()/open(), and hostile or wrong files,
// each of which must be an IOError naming the file, never a crash.
#include "io/hdf5_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "kerosene/error.h"

namespace kerosene::io {
namespace {

namespace fs = std::filesystem;

template <typename T>
data::Array make_array(std::vector<int64_t> shape, const std::vector<T>& values) {
  data::Array array;
  array.shape = std::move(shape);
  array.dtype = dtype_of<T>();
  array.bytes.resize(values.size() * sizeof(T));
  if (!values.empty()) std::memcpy(array.bytes.data(), values.data(), array.bytes.size());
  return array;
}

template <typename T>
std::vector<T> values_of(const data::Array& array) {
  EXPECT_EQ(array.dtype, dtype_of<T>());
  std::vector<T> values(array.bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), array.bytes.data(), array.bytes.size());
  return values;
}

fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() / ("kerosene_hdf5_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

H5File sample_file() {
  H5File file = H5File::create("sample.weights.h5");
  H5Group root = file.root();
  root.set_string_attribute("keras_version", "3.3.3 \xc3\xa9");  // UTF-8 survives
  root.set_string_list_attribute("layer_names", {"dense", "dense_1", ""});
  root.set_string_list_attribute("empty_names", {});
  H5Group vars = root.create_group("layers").create_group("dense").create_group("vars");
  vars.write_dataset("0", make_array<float>({2, 3}, {1, 2, 3, 4, 5, 6.5f}));
  vars.write_dataset("1", make_array<int32_t>({3}, {-1, 0, 7}));
  vars.write_dataset("2", make_array<int64_t>({}, {int64_t{1} << 40}));
  vars.write_dataset("3", make_array<uint8_t>({2, 2}, {0, 1, 254, 255}));
  vars.write_dataset("empty", make_array<float>({0, 4}, {}));
  root.create_group("b_group");
  root.create_group("a_group");
  return file;
}

void check_sample(const H5File& file) {
  H5Group root = file.root();
  EXPECT_EQ(root.path(), "/");
  EXPECT_EQ(root.members(), (std::vector<std::string>{"a_group", "b_group", "layers"}));
  EXPECT_EQ(root.string_attribute("keras_version"), "3.3.3 \xc3\xa9");
  EXPECT_EQ(root.string_list_attribute("layer_names"), (std::vector<std::string>{"dense", "dense_1", ""}));
  EXPECT_EQ(root.string_list_attribute("empty_names"), std::vector<std::string>{});
  EXPECT_EQ(root.string_list_attribute("keras_version"), std::vector<std::string>{"3.3.3 \xc3\xa9"});
  EXPECT_FALSE(root.string_attribute("absent").has_value());
  EXPECT_THROW(root.string_attribute("layer_names"), IOError);  // three strings, not one
  EXPECT_TRUE(root.has("layers"));
  EXPECT_TRUE(root.has_group("layers"));
  EXPECT_FALSE(root.has_dataset("layers"));
  H5Group vars = root.group("layers").group("dense").group("vars");
  EXPECT_EQ(vars.path(), "/layers/dense/vars");
  EXPECT_EQ(vars.members(), (std::vector<std::string>{"0", "1", "2", "3", "empty"}));
  EXPECT_TRUE(vars.has_dataset("0"));
  EXPECT_EQ(vars.dataset_shape("0"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(vars.dataset_shape("2"), std::vector<int64_t>{});
  data::Array a = vars.read_dataset("0");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values_of<float>(a), (std::vector<float>{1, 2, 3, 4, 5, 6.5f}));
  EXPECT_EQ(values_of<int64_t>(vars.read_dataset("1")), (std::vector<int64_t>{-1, 0, 7}));
  data::Array scalar = vars.read_dataset("2");
  EXPECT_TRUE(scalar.shape.empty());
  EXPECT_EQ(values_of<int64_t>(scalar), std::vector<int64_t>{int64_t{1} << 40});
  EXPECT_EQ(values_of<int64_t>(vars.read_dataset("3")), (std::vector<int64_t>{0, 1, 254, 255}));
  data::Array empty = vars.read_dataset("empty");
  EXPECT_EQ(empty.shape, (std::vector<int64_t>{0, 4}));
  EXPECT_TRUE(empty.bytes.empty());
}

// The message names the file and contains `part`.
template <typename F>
void expect_io_error(F&& f, const std::string& origin, const std::string& part) {
  try {
    f();
    ADD_FAILURE() << "no IOError; expected one naming " << origin << " and saying " << part;
  } catch (const IOError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(origin), std::string::npos) << message;
    EXPECT_NE(message.find(part), std::string::npos) << message;
  }
}

TEST(Hdf5File, RoundTripInMemory) {
  H5File file = sample_file();
  check_sample(file);
  const std::vector<uint8_t> image = file.image();
  ASSERT_GT(image.size(), 8u);
  EXPECT_EQ(std::memcmp(image.data(), "\x89HDF\r\n\x1a\n", 8), 0);
  H5File reopened = H5File::open_image(image, "archive.keras/model.weights.h5");
  EXPECT_EQ(reopened.origin(), "archive.keras/model.weights.h5");
  check_sample(reopened);
  // Two images open at once are two files (the core driver tells files apart by name).
  H5File other = H5File::create();
  other.root().create_group("only_here");
  H5File reopened_other = H5File::open_image(other.image(), "other.h5");
  EXPECT_EQ(reopened_other.root().members(), std::vector<std::string>{"only_here"});
  check_sample(reopened);
}

TEST(Hdf5File, RoundTripThroughSaveAndOpen) {
  const fs::path path = temp_dir() / "saved.weights.h5";
  sample_file().save(path.string());
  H5File file = H5File::open(path.string());
  EXPECT_EQ(file.origin(), path.string());
  check_sample(file);
  H5Group group = file.root().group("a_group");
  file = H5File::create();  // a group keeps its file open
  EXPECT_TRUE(group.members().empty());
  fs::remove_all(path.parent_path());
}

TEST(Hdf5File, WrongKindsAndMissingMembersNameThePath) {
  H5File file = sample_file();
  H5Group root = file.root();
  expect_io_error([&] { root.group("missing"); }, "sample.weights.h5", "/missing: expected a group, found nothing");
  H5Group vars = root.group("layers").group("dense").group("vars");
  expect_io_error([&] { vars.group("0"); }, "sample.weights.h5", "/layers/dense/vars/0: expected a group, found a dataset");
  expect_io_error([&] { root.read_dataset("layers"); }, "sample.weights.h5", "expected a dataset, found a group");
  expect_io_error([&] { vars.read_dataset("nope"); }, "sample.weights.h5", "expected a dataset, found nothing");
  expect_io_error([&] { root.has("a/b"); }, "sample.weights.h5", "direct member");
  H5File read_only = H5File::open_image(file.image(), "ro.h5");
  expect_io_error([&] { read_only.root().create_group("x"); }, "ro.h5", "read-only");
}

TEST(Hdf5File, DatasetOverTheLimitIsRefused) {
  H5File file = sample_file();
  H5Group vars = file.root().group("layers").group("dense").group("vars");
  H5Limits small;
  small.max_dataset_bytes = 20;  // "0" holds 24 bytes
  expect_io_error([&] { vars.read_dataset("0", small); }, "sample.weights.h5", "expected a dataset of at most 20 bytes, found 24");
  EXPECT_NO_THROW(vars.read_dataset("2", small));  // 8 bytes
  // Integers are read as int64: four uint8 take 32 bytes.
  expect_io_error([&] { vars.read_dataset("3", small); }, "sample.weights.h5", "found 32");
}

TEST(Hdf5File, BadFilesAreIOErrorsNamingThem) {
  const fs::path dir = temp_dir();
  const std::string missing = (dir / "missing.h5").string();
  expect_io_error([&] { H5File::open(missing); }, missing, "cannot open");

  const std::string text = (dir / "text.h5").string();
  write_bytes(text, {'h', 'e', 'l', 'l', 'o', '\n'});
  expect_io_error([&] { H5File::open(text); }, text, "expected an HDF5 file (signature \\x89HDF), found");

  expect_io_error([&] { H5File::open(dir.string()); }, dir.string(), "expected a regular file, found a directory");

  const std::vector<uint8_t> image = sample_file().image();
  const std::string truncated = (dir / "truncated.h5").string();
  write_bytes(truncated, std::vector<uint8_t>(image.begin(), image.begin() + image.size() / 2));
  expect_io_error([&] { H5File::open(truncated); }, truncated, "");
  expect_io_error([&] { H5File::open_image(std::vector<uint8_t>(image.begin(), image.begin() + image.size() / 2), "half.h5"); },
                  "half.h5", "");

  std::mt19937 random(1234);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<uint8_t> noise(4096);
    for (uint8_t& b : noise) b = static_cast<uint8_t>(random());
    std::memcpy(noise.data(), "\x89HDF\r\n\x1a\n", 8);
    const std::string noisy = (dir / "noise.h5").string();
    write_bytes(noisy, noise);
    expect_io_error([&] { H5File::open(noisy); }, noisy, "");
  }
  expect_io_error([&] { H5File::open_image({}, "empty.h5"); }, "empty.h5", "found an empty file");
  fs::remove_all(dir);
}

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitized = true;
#else
constexpr bool kAddressSanitized = false;
#endif

// Corrupting bytes of a valid file (past its superblock) must give errors or values, not crashes.
TEST(Hdf5File, CorruptedImagesDoNotCrash) {
  if (kAddressSanitized) {
    // AddressSanitizer finds out-of-bounds reads inside HDF5 1.10.8 itself (H5O__msg_iterate_real
    // under H5Aexists) on such files: a bug of the library, not of this code.
    GTEST_SKIP() << "HDF5 1.10.8 reads out of bounds on corrupt object headers (found by ASan)";
  }
  const std::vector<uint8_t> image = sample_file().image();
  std::mt19937 random(99);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<uint8_t> bad = image;
    for (int k = 0; k < 8; ++k) bad[96 + random() % (bad.size() - 96)] = static_cast<uint8_t>(random());
    try {
      H5File file = H5File::open_image(bad, "bad.h5");
      H5Group vars = file.root().group("layers").group("dense").group("vars");
      for (const std::string& name : vars.members()) vars.read_dataset(name);
      file.root().string_list_attribute("layer_names");
    } catch (const IOError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.h5"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace kerosene::io
