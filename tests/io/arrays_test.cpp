// kerosene::io's .npy/.npz functions against files numpy wrote (tests/io/numpy_files.h), round
// trips through kerosene's own writers, and the errors a user's bad file gets.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_util.h"
#include "io/numpy_files.h"
#include "kerosene/io.h"

namespace kerosene {
namespace {

using test_util::ScratchDir;
namespace fs = std::filesystem;

std::string write_numpy_file(const ScratchDir& dir, const std::string& name) {
  test_util::write_bytes(dir.path() / name, io_testing::numpy_files().at(name));
  return dir / name;
}

TEST(IoNpy, ReadsEveryDtypeNumpyWrites) {
  ScratchDir dir;
  const Tensor f4 = io::load_npy(write_numpy_file(dir, "f4.npy"));
  EXPECT_EQ(f4.shape(), Shape({2, 3}));
  EXPECT_EQ(f4.to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
  const Tensor b1 = io::load_npy(write_numpy_file(dir, "b1.npy"));
  EXPECT_EQ(b1.dtype(), DType::uint8);
  EXPECT_EQ(b1.to_vector<uint8_t>(), (std::vector<uint8_t>{1, 0, 1}));
  const Tensor f8 = io::load_npy(write_numpy_file(dir, "f8.npy"));
  EXPECT_EQ(f8.dtype(), DType::float32);
  EXPECT_EQ(f8.to_vector<float>(), (std::vector<float>{0.5f, -1.25f}));
  EXPECT_EQ(io::load_npy(write_numpy_file(dir, "u2.npy")).to_vector<int32_t>(), (std::vector<int32_t>{65535, 1}));
  EXPECT_EQ(io::load_npy(write_numpy_file(dir, "i2.npy")).to_vector<int32_t>(), (std::vector<int32_t>{-32768, 7}));
  EXPECT_EQ(io::load_npy(write_numpy_file(dir, "u4.npy")).to_vector<int64_t>(), (std::vector<int64_t>{4294967295}));
}

TEST(IoNpy, FortranOrderIsConvertedToCOrder) {
  ScratchDir dir;
  const Tensor t = io::load_npy(write_numpy_file(dir, "fortran.npy"));
  EXPECT_EQ(t.shape(), Shape({2, 3, 4}));
  std::vector<int32_t> want(24);
  for (int i = 0; i < 24; ++i) want[static_cast<size_t>(i)] = i;  // np.arange(24).reshape(2, 3, 4) in C order
  EXPECT_EQ(t.to_vector<int32_t>(), want);
}

TEST(IoNpy, WritesWhatNumpyWrites) {
  ScratchDir dir;
  io::save_npy(dir / "mine.npy", Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5}, {2, 3}));
  EXPECT_EQ(test_util::read_text(dir.path() / "mine.npy"),
            std::string(io_testing::numpy_files().at("f4.npy").begin(), io_testing::numpy_files().at("f4.npy").end()));
}

TEST(IoNpy, RoundTripsEveryDtypeAndShape) {
  ScratchDir dir;
  const std::vector<Tensor> tensors = {
      Tensor::from_vector(std::vector<uint8_t>{0, 255, 7}, {3}),
      Tensor::from_vector(std::vector<int32_t>{-5, 1 << 30}, {2, 1}),
      Tensor::from_vector(std::vector<int64_t>{int64_t{1} << 40}, {1, 1, 1}),
      Tensor::from_vector(std::vector<float>{3.5f}, Shape{}),
      Tensor::zeros({0, 4}),
  };
  for (const Tensor& t : tensors) {
    io::save_npy(dir / "t.npy", t);
    const Tensor back = io::load_npy(dir / "t.npy");
    EXPECT_EQ(back.shape(), t.shape());
    EXPECT_EQ(back.dtype(), t.dtype());
    EXPECT_EQ(back.to_vector<double>(), t.to_vector<double>());
  }
}

TEST(IoNpz, RoundTripsStoredAndCompressed) {
  ScratchDir dir;
  const std::map<std::string, Tensor> arrays = {
      {"x_train", Tensor::from_vector(std::vector<float>(1000, 0.25f), {10, 100})},
      {"y_train", Tensor::from_vector(std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 0}, {10})},
  };
  for (bool compressed : {false, true}) {
    io::save_npz(dir / "d.npz", arrays, compressed);
    const auto back = io::load_npz(dir / "d.npz");
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back.at("x_train").shape(), Shape({10, 100}));
    EXPECT_EQ(back.at("x_train").to_vector<float>(), arrays.at("x_train").to_vector<float>());
    EXPECT_EQ(back.at("y_train").to_vector<uint8_t>(), arrays.at("y_train").to_vector<uint8_t>());
    const auto size = fs::file_size(dir.path() / "d.npz");
    if (compressed) EXPECT_LT(size, 1000u) << "4000 bytes of one value should deflate well";
    else EXPECT_GT(size, 4000u);
  }
}

TEST(IoNpy, BadFilesNameTheFile) {
  ScratchDir dir;
  test_util::write_bytes(dir.path() / "text.npy", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd'});
  try {
    io::load_npy(dir / "text.npy");
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), dir / "text.npy");
    KEROSENE_EXPECT_CONTAINS(e.what(), "is not a .npy array");
  }
  EXPECT_THROW(io::load_npy(dir / "missing.npy"), IOError);
  EXPECT_THROW(io::load_npz(dir / "text.npy"), IOError);
  // A writer's failure names the file, and leaves nothing under its name.
  try {
    io::save_npy(dir / "no/such/dir/x.npy", Tensor::zeros({2}));
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    KEROSENE_EXPECT_CONTAINS(e.what(), "no/such/dir/x.npy");
  }
}

TEST(IoNpy, AnInterruptedSaveLeavesTheOldFile) {
  ScratchDir dir;
  io::save_npy(dir / "w.npy", Tensor::from_vector(std::vector<float>{1, 2}, {2}));
  // A save that fails before its rename (here: a tensor that cannot be saved) changes nothing.
  EXPECT_THROW(io::save_npy(dir / "w.npy", Tensor()), ValueError);
  EXPECT_EQ(io::load_npy(dir / "w.npy").to_vector<float>(), (std::vector<float>{1, 2}));
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename(), "w.npy") << "a temporary file was left behind";
  }
}

}  // namespace
}  // namespace kerosene
