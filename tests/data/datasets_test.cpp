// Tests for keras-style dataset loading: the real MNIST files, the search order across
// $KEROSENE_DATASETS, Keras' cache and /usr/share/datasets, and every validation error. Small
// stand-in datasets, each with its own size, show which place a load came from.
#include "kerosene/datasets.h"

#include <gtest/gtest.h>

#include <numeric>

#include "data/array.h"
#include "data/data_test_files.h"
#include "kerosene/error.h"

namespace kerosene::datasets {
namespace {

using namespace data_testing;

// Writes the four IDX files of a dataset with n_train and n_test 28x28 images to `directory`.
void write_idx_dataset(const fs::path& directory, uint32_t n_train, uint32_t n_test,
                       bool gz = true) {
  auto put = [&](const std::string& name, const Bytes& bytes) {
    write_file((directory / (name + (gz ? ".gz" : ""))).string(), gz ? gzip_bytes(bytes) : bytes);
  };
  put("train-images-idx3-ubyte", idx_bytes(0x08, {n_train, 28, 28}, Bytes(n_train * 784, 1)));
  put("train-labels-idx1-ubyte", idx_bytes(0x08, {n_train}, Bytes(n_train, 7)));
  put("t10k-images-idx3-ubyte", idx_bytes(0x08, {n_test, 28, 28}, Bytes(n_test * 784, 2)));
  put("t10k-labels-idx1-ubyte", idx_bytes(0x08, {n_test}, Bytes(n_test, 3)));
}

// Writes a Keras-style .npz (x_train, y_train, x_test, y_test) with n_train training images.
void write_npz_dataset(const std::string& path, uint32_t n_train, bool with_y_test = true) {
  const std::string n = std::to_string(n_train);
  std::vector<ZipMember> members = {
      {"x_train.npy", npy_bytes("|u1", "(" + n + ", 28, 28)", Bytes(n_train * 784, 1)), true, true},
      {"y_train.npy", npy_bytes("|u1", "(" + n + ",)", Bytes(n_train, 7)), true, true},
      {"x_test.npy", npy_bytes("|u1", "(2, 28, 28)", Bytes(2 * 784, 2)), false, true}};
  if (with_y_test) members.push_back({"y_test.npy", npy_bytes("|u1", "(2,)", Bytes(2, 3))});
  write_file(path, zip_bytes(members));
}

// A clean environment: every variable the search looks at points into fresh empty directories.
struct SearchEnvironment {
  TempDir datasets, keras, home;
  ScopedEnv kerosene_datasets{"KEROSENE_DATASETS", datasets.path().string()};
  ScopedEnv keras_home{"KERAS_HOME", keras.path().string()};
  ScopedEnv home_variable{"HOME", home.path().string()};
  // Nothing is downloaded: a closed port on this machine answers at once.
  ScopedEnv no_network{"KEROSENE_DATASETS_URL", "http://127.0.0.1:9/"};
};

TEST(Datasets, LoadsRealMnist) {
  const std::string mnist = mnist_directory();
  if (mnist.empty()) GTEST_SKIP() << "MNIST not found (set KEROSENE_TEST_DATA)";
  SearchEnvironment env;
  fs::create_directory_symlink(mnist, env.datasets.path() / "mnist");
  auto [train, test] = mnist::load_data();

  ASSERT_EQ(train.x.shape(), Shape({60000, 28, 28}));
  ASSERT_EQ(train.y.shape(), Shape({60000}));
  ASSERT_EQ(test.x.shape(), Shape({10000, 28, 28}));
  ASSERT_EQ(test.y.shape(), Shape({10000}));
  EXPECT_EQ(train.x.dtype(), DType::uint8);
  EXPECT_EQ(train.y.dtype(), DType::uint8);
  EXPECT_TRUE(train.x.device().is_cpu());

  const uint8_t* y = train.y.data<uint8_t>();
  EXPECT_EQ(std::vector<uint8_t>(y, y + 10), (std::vector<uint8_t>{5, 0, 4, 1, 9, 2, 1, 3, 1, 4}));
  const uint8_t* y_test = test.y.data<uint8_t>();
  EXPECT_EQ(std::vector<uint8_t>(y_test, y_test + 10),
            (std::vector<uint8_t>{7, 2, 1, 0, 4, 1, 4, 9, 5, 9}));
  std::vector<int> histogram(10);
  for (int64_t i = 0; i < test.y.numel(); ++i) histogram.at(y_test[i])++;
  EXPECT_EQ(histogram, (std::vector<int>{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}));
  EXPECT_EQ(std::accumulate(histogram.begin(), histogram.end(), 0), 10000);

  // Pixel sums computed from the original files with Python's gzip module.
  const uint8_t* x = train.x.data<uint8_t>();
  EXPECT_EQ(std::accumulate(x, x + 784, 0), 27525);
  EXPECT_EQ(std::accumulate(x + train.x.numel() - 784, x + train.x.numel(), 0), 20920);
  EXPECT_EQ(std::accumulate(x, x + train.x.numel(), int64_t{0}), 1567298545);
}

TEST(Datasets, SearchPathsFollowTheDocumentedOrder) {
  {
    ScopedEnv a("KEROSENE_DATASETS", "/kd"), b("KERAS_HOME", "/kh"), c("HOME", "/h");
    EXPECT_EQ(search_paths("mnist"),
              (std::vector<std::string>{"/kd/mnist", "/kh/datasets/mnist.npz",
                                        "/usr/share/datasets/mnist"}));
    const std::vector<std::string> fashion = {"/kd/fashion_mnist", "/kd/fashion-mnist",
                                              "/kh/datasets/fashion-mnist",
                                              "/usr/share/datasets/fashion-mnist"};
    EXPECT_EQ(search_paths("fashion_mnist"), fashion);
    EXPECT_EQ(search_paths("fashion-mnist"), fashion);
  }
  {
    ScopedEnv a("KEROSENE_DATASETS", std::nullopt), b("KERAS_HOME", std::nullopt), c("HOME", "/h");
    EXPECT_EQ(search_paths("mnist"), (std::vector<std::string>{"/h/.keras/datasets/mnist.npz",
                                                               "/usr/share/datasets/mnist"}));
  }
  EXPECT_CONTAINS(error_of([] { search_paths("svhn"); }), "unknown dataset 'svhn'");
  EXPECT_THROW(search_paths("svhn"), ValueError);
}

TEST(Datasets, KeroseneDatasetsComesBeforeKerasCache) {
  SearchEnvironment env;
  write_idx_dataset(env.datasets.path() / "mnist", 3, 1);
  write_npz_dataset(env.keras / "datasets/mnist.npz", 4);
  EXPECT_EQ(mnist::load_data().first.x.dim(0), 3);
  fs::remove_all(env.datasets.path() / "mnist");
  auto [train, test] = mnist::load_data();
  EXPECT_EQ(train.x.shape(), Shape({4, 28, 28}));
  EXPECT_EQ(test.y.shape(), Shape({2}));
  EXPECT_EQ(train.y.data<uint8_t>()[0], 7);
}

TEST(Datasets, KerasCacheUnderHomeWithoutKerasHome) {
  SearchEnvironment env;
  ScopedEnv no_keras_home("KERAS_HOME", std::nullopt);
  write_npz_dataset(env.home / ".keras/datasets/mnist.npz", 5);
  EXPECT_EQ(mnist::load_data().first.x.dim(0), 5);
}

TEST(Datasets, NpzInsideKeroseneDatasets) {
  SearchEnvironment env;
  write_npz_dataset(env.datasets / "mnist/mnist.npz", 6);
  EXPECT_EQ(mnist::load_data().first.x.dim(0), 6);
}

TEST(Datasets, FashionMnistSpellingsAndKerasLayout) {
  SearchEnvironment env;
  write_idx_dataset(env.keras.path() / "datasets/fashion-mnist", 8, 1);
  EXPECT_EQ(fashion_mnist::load_data().first.x.dim(0), 8);
  write_idx_dataset(env.datasets.path() / "fashion-mnist", 2, 1);
  EXPECT_EQ(fashion_mnist::load_data().first.x.dim(0), 2);
  write_npz_dataset(env.datasets / "fashion_mnist/fashion_mnist.npz", 7);
  EXPECT_EQ(load("fashion_mnist").first.x.dim(0), 7);
}

TEST(Datasets, FallsBackToDebianFashionMnist) {
  SearchEnvironment env;
  if (!fs::exists("/usr/share/datasets/fashion-mnist")) {
    EXPECT_CONTAINS(error_of([] { fashion_mnist::load_data(); }),
                    "apt-get install dataset-fashion-mnist");
    GTEST_SKIP() << "dataset-fashion-mnist is not installed; checked the error instead";
  }
  auto [train, test] = fashion_mnist::load_data();
  ASSERT_EQ(train.x.shape(), Shape({60000, 28, 28}));
  ASSERT_EQ(test.y.shape(), Shape({10000}));
  const uint8_t* y = train.y.data<uint8_t>();
  EXPECT_EQ(std::vector<uint8_t>(y, y + 10), (std::vector<uint8_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5}));
}

TEST(Datasets, NotFoundListsEveryPlaceAndHowToGetIt) {
  if (fs::exists("/usr/share/datasets/mnist")) GTEST_SKIP() << "/usr/share/datasets/mnist exists";
  SearchEnvironment env;
  const std::string message = error_of([] { mnist::load_data(); });
  EXPECT_THROW(mnist::load_data(), IOError);
  for (const std::string& place : search_paths("mnist")) EXPECT_CONTAINS(message, place);
  EXPECT_CONTAINS(message, "set KEROSENE_DATASETS");
  EXPECT_CONTAINS(message, "~/.keras/datasets");
  ScopedEnv unset("KEROSENE_DATASETS", std::nullopt);
  EXPECT_CONTAINS(error_of([] { mnist::load_data(); }), "$KEROSENE_DATASETS (not set)");
}

TEST(Datasets, CorruptFirstCopyIsReportedNotSkipped) {
  SearchEnvironment env;
  write_idx_dataset(env.datasets.path() / "mnist", 3, 1);
  write_file(env.datasets / "mnist/train-images-idx3-ubyte.gz", {0x1f, 0x8b, 8, 0, 1, 2, 3});
  write_npz_dataset(env.keras / "datasets/mnist.npz", 4);
  const std::string message = error_of([] { mnist::load_data(); });
  EXPECT_CONTAINS(message, env.datasets / "mnist/train-images-idx3-ubyte.gz");
  EXPECT_THROW(mnist::load_data(), IOError);
}

TEST(Datasets, PartialDirectoryNamesTheMissingFile) {
  SearchEnvironment env;
  write_idx_dataset(env.datasets.path() / "mnist", 3, 1);
  fs::remove(env.datasets.path() / "mnist/t10k-images-idx3-ubyte.gz");
  EXPECT_CONTAINS(error_of([] { mnist::load_data(); }),
                  "t10k-images-idx3-ubyte' (or .gz) is missing");
}

TEST(Datasets, LoadIdxDirectoryValidates) {
  TempDir dir;
  write_idx_dataset(dir.path(), 3, 2, /*gz=*/false);
  auto [train, test] = load_idx_directory(dir.path().string());
  EXPECT_EQ(train.x.shape(), Shape({3, 28, 28}));
  EXPECT_EQ(test.y.data<uint8_t>()[1], 3);

  write_file(dir / "train-labels-idx1-ubyte", idx_bytes(0x08, {4}, Bytes(4)));
  std::string message = error_of([&] { load_idx_directory(dir.path().string()); });
  EXPECT_CONTAINS(message, dir / "train-images-idx3-ubyte' holds 3 images");
  EXPECT_CONTAINS(message, dir / "train-labels-idx1-ubyte' holds 4 labels");
  EXPECT_THROW(load_idx_directory(dir.path().string()), ValueError);

  write_file(dir / "train-labels-idx1-ubyte", idx_bytes(0x08, {3, 1}, Bytes(3)));
  message = error_of([&] { load_idx_directory(dir.path().string()); });
  EXPECT_CONTAINS(message, "train-labels-idx1-ubyte': expected labels of shape (N,)");
  EXPECT_CONTAINS(message, "found uint8 of shape (3, 1)");

  write_file(dir / "train-labels-idx1-ubyte", idx_bytes(0x08, {3}, Bytes(3)));
  write_file(dir / "train-images-idx3-ubyte", idx_bytes(0x08, {3, 784}, Bytes(3 * 784)));
  EXPECT_CONTAINS(
      error_of([&] { load_idx_directory(dir.path().string()); }),
      "expected images of shape (N, rows, cols) as unsigned bytes, found uint8 of shape (3, 784)");
  write_file(dir / "train-images-idx3-ubyte", idx_bytes(0x0C, {1, 1, 1}, Bytes(4)));
  EXPECT_CONTAINS(error_of([&] { load_idx_directory(dir.path().string()); }), "found int32");

  EXPECT_CONTAINS(error_of([&] { load_idx_directory(dir / "nope"); }), "no such directory");
}

TEST(Datasets, NpzWithoutAMemberIsNamed) {
  TempDir dir;
  write_npz_dataset(dir / "mnist.npz", 3, /*with_y_test=*/false);
  const std::string message = error_of([&] { load(dir / "mnist.npz"); });
  EXPECT_CONTAINS(message, dir / "mnist.npz' has no array 'y_test'");
  EXPECT_CONTAINS(message, "found x_test, x_train, y_train");
}

TEST(Datasets, LoadTakesPaths) {
  TempDir dir;
  write_idx_dataset(dir.path() / "idx", 3, 1);
  write_npz_dataset(dir / "npz/data.npz", 4);
  write_file(dir / "notes.txt", {'h', 'i'});
  EXPECT_EQ(load(dir / "idx").first.x.dim(0), 3);
  EXPECT_EQ(load(dir / "npz").first.x.dim(0), 4);
  EXPECT_EQ(load(dir / "npz/data.npz").first.x.dim(0), 4);
  EXPECT_THROW(load("svhn"), ValueError);
  EXPECT_CONTAINS(error_of([&] { load(dir / "notes.txt"); }), "not a directory or .npz file");
  fs::create_directory(dir.path() / "empty");
  EXPECT_CONTAINS(error_of([&] { load(dir / "empty"); }), "without the IDX files");
}

TEST(Datasets, ToTensorChecksRankAndSize) {
  data::Array a{{2, 2}, DType::int64, raw_bytes(std::vector<int64_t>{1, -2, 3, 1 << 20})};
  Tensor t = data::to_tensor(std::move(a));
  EXPECT_EQ(t.shape(), Shape({2, 2}));
  EXPECT_EQ(t.data<int64_t>()[3], 1 << 20);
  EXPECT_THROW(data::to_tensor(data::Array{std::vector<int64_t>(9, 1), DType::uint8, {1}}),
               ValueError);
  EXPECT_THROW(data::to_tensor(data::Array{{3}, DType::float32, Bytes(8)}), ValueError);
}

}  // namespace
}  // namespace kerosene::datasets
