// Tests for CIFAR-10 and CIFAR-100 loading: every form (python and binary versions, extracted or
// as tarballs), every place of the search order, channels-last pixels, fine and coarse labels,
// and every error. The pickles are written as Python 2's cPickle writes them (checked against the
// files cPickle itself wrote, in tests/data/cifar/).
#include <gtest/gtest.h>

#include "data/cifar_test_files.h"
#include "data/gzip.h"
#include "kerosene/datasets.h"
#include "kerosene/error.h"

namespace kerosene::datasets {
namespace {

using namespace data_testing;

const fs::path kFixtures = fs::path(KEROSENE_SOURCE_DIR) / "tests/data/cifar";

// Every variable the search looks at points into fresh empty directories; nothing is downloaded.
struct CifarEnvironment {
  TempDir datasets, keras, home, system;
  ScopedEnv kerosene_datasets{"KEROSENE_DATASETS", datasets.path().string()};
  ScopedEnv keras_home{"KERAS_HOME", keras.path().string()};
  ScopedEnv home_variable{"HOME", home.path().string()};
  ScopedEnv system_datasets{"KEROSENE_SYSTEM_DATASETS", system.path().string()};
  ScopedEnv no_network{"KEROSENE_DATASETS_URL", "http://127.0.0.1:9/"};
};

// CIFAR-10's python version in `directory`: batch k (1 to 5) holds images 2(k-1) and 2k-1 of
// the pixel pattern with labels k and 9-k; test_batch image 10 with label 0.
void write_cifar10_python(const fs::path& directory) {
  for (int k = 1; k <= 5; ++k) {
    write_file((directory / ("data_batch_" + std::to_string(k))).string(),
               cifar10_pickle(cifar_pixels(2, 2 * (k - 1)), {k, 9 - k}));
  }
  write_file((directory / "test_batch").string(), cifar10_pickle(cifar_pixels(1, 10), {0}));
}

// The same images and labels in the binary version.
void write_cifar10_binary(const fs::path& directory) {
  for (int k = 1; k <= 5; ++k) {
    write_file((directory / ("data_batch_" + std::to_string(k) + ".bin")).string(),
               cifar_records(cifar_pixels(2, 2 * (k - 1)), {{uint8_t(k)}, {uint8_t(9 - k)}}));
  }
  write_file((directory / "test_batch.bin").string(), cifar_records(cifar_pixels(1, 10), {{0}}));
}

// Checks that `x` holds `pixels` (planes as in the files) channels last: x[n, h, w, c] is
// pixels[n * 3072 + c * 1024 + h * 32 + w].
void expect_channels_last(const Tensor& x, const Bytes& pixels) {
  ASSERT_EQ(x.numel(), static_cast<int64_t>(pixels.size()));
  const uint8_t* p = x.data<uint8_t>();
  size_t mismatches = 0;
  for (size_t n = 0; n < pixels.size() / 3072; ++n) {
    for (size_t h = 0; h < 32; ++h) {
      for (size_t w = 0; w < 32; ++w) {
        for (size_t c = 0; c < 3; ++c) {
          mismatches += p[((n * 32 + h) * 32 + w) * 3 + c] != pixels[n * 3072 + c * 1024 + h * 32 + w];
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0u);
}

std::vector<uint8_t> labels_of(const Split& split) { return split.y.to_vector<uint8_t>(); }

void expect_cifar10_written(const TrainTest& data) {
  const auto& [train, test] = data;
  EXPECT_EQ(train.x.shape(), Shape({10, 32, 32, 3}));
  EXPECT_EQ(train.y.shape(), Shape({10, 1}));
  EXPECT_EQ(test.x.shape(), Shape({1, 32, 32, 3}));
  EXPECT_EQ(test.y.shape(), Shape({1, 1}));
  EXPECT_EQ(train.x.dtype(), DType::uint8);
  EXPECT_EQ(train.y.dtype(), DType::uint8);
  EXPECT_TRUE(train.x.device().is_cpu());
  EXPECT_EQ(labels_of(train), (std::vector<uint8_t>{1, 8, 2, 7, 3, 6, 4, 5, 5, 4}));
  EXPECT_EQ(labels_of(test), (std::vector<uint8_t>{0}));
  expect_channels_last(train.x, cifar_pixels(10));
  expect_channels_last(test.x, cifar_pixels(1, 10));
}

TEST(CifarPickle, TheTestsWriterWritesWhatCPickleWrote) {
  // make_fixtures.py's batches, as cPickle.dump(batch, f, 2) wrote them.
  EXPECT_EQ(CifarPickle()
                .array("data", cifar_pixels(2), {2, 3072})
                .ints("labels", {6, 9})
                .text("batch_label", "training batch 1 of 5")
                .texts("filenames", {"leptodactylus_pentadactylus_s_000004.png", "camion_s_000148.png"})
                .bytes(),
            data::read_file_bytes((kFixtures / "cifar10_data_batch").string()));
  EXPECT_EQ(CifarPickle()
                .array("data", cifar_pixels(2), {2, 3072})
                .text("batch_label", "training batch 1 of 1")
                .ints("fine_labels", {19, 29})
                .ints("coarse_labels", {11, 15})
                .texts("filenames", {"bos_taurus_s_000507.png", "stegosaurus_s_000125.png"})
                .bytes(),
            data::read_file_bytes((kFixtures / "cifar100_train").string()));
}

TEST(Cifar10, PythonVersionIsChannelsLastWithLabelsOfShapeN1) {
  CifarEnvironment env;
  write_cifar10_python(env.datasets.path() / "cifar10");
  expect_cifar10_written(cifar10::load_data());
  expect_cifar10_written(load("cifar10"));
}

TEST(Cifar10, ReadsTheBatchesCPickleWrote) {
  CifarEnvironment env;
  const fs::path dir = env.datasets.path() / "cifar10";
  fs::create_directories(dir);
  for (const char* name : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"}) {
    fs::copy_file(kFixtures / "cifar10_data_batch", dir / name);
  }
  auto [train, test] = cifar10::load_data();
  EXPECT_EQ(train.x.shape(), Shape({10, 32, 32, 3}));
  EXPECT_EQ(labels_of(test), (std::vector<uint8_t>{6, 9}));
  expect_channels_last(test.x, cifar_pixels(2));
  // The first pixel's red, green and blue: bytes 0, 1024 and 2048 of the image.
  EXPECT_EQ(test.x.to_vector<uint8_t>()[0], 3);
  EXPECT_EQ(test.x.to_vector<uint8_t>()[1], (7 * 1024 + 13 + 3) % 256);
  EXPECT_EQ(test.x.to_vector<uint8_t>()[2], (7 * 2048 + 26 + 3) % 256);
}

TEST(Cifar10, BinaryVersionGivesTheSameTensors) {
  CifarEnvironment env;
  write_cifar10_binary(env.datasets.path() / "cifar10");
  expect_cifar10_written(cifar10::load_data());
  fs::remove_all(env.datasets.path() / "cifar10");
  write_cifar10_binary(env.datasets.path() / "cifar10/cifar-10-batches-bin");
  expect_cifar10_written(cifar10::load_data());
}

TEST(Cifar10, TarballsAreReadWithoutExtracting) {
  CifarEnvironment env;
  // Members out of order, with a directory entry and files that are not batches, as tarballs have.
  std::vector<TarMember> members = {{"./cifar-10-batches-py", {}, '5'}, {"./cifar-10-batches-py/readme.html", {'h'}}};
  members.push_back({"./cifar-10-batches-py/test_batch", cifar10_pickle(cifar_pixels(1, 10), {0})});
  for (int k = 5; k >= 1; --k) {
    members.push_back({"./cifar-10-batches-py/data_batch_" + std::to_string(k),
                       cifar10_pickle(cifar_pixels(2, 2 * (k - 1)), {k, 9 - k})});
  }
  write_file(env.datasets / "cifar10/cifar-10-python.tar.gz", gzip_bytes(tar_bytes(members)));
  expect_cifar10_written(cifar10::load_data());

  fs::remove_all(env.datasets.path() / "cifar10");
  TempDir bin;
  write_cifar10_binary(bin.path());
  std::vector<TarMember> binary;
  for (const auto& entry : fs::directory_iterator(bin.path())) {
    binary.push_back({"cifar-10-batches-bin/" + entry.path().filename().string(),
                      data::read_file_bytes(entry.path().string())});
  }
  write_file(env.datasets / "cifar10/cifar-10-binary.tar.gz", gzip_bytes(tar_bytes(binary)));
  expect_cifar10_written(cifar10::load_data());
}

TEST(Cifar10, ReadsATarballPythonsTarfileWrote) {
  CifarEnvironment env;
  // GNU format, as the CIFAR site's; in Keras 3's cache under the name Keras gives its download.
  fs::create_directories(env.keras.path() / "datasets");
  fs::copy_file(kFixtures / "cifar-10-python.tar.gz", env.keras.path() / "datasets/cifar-10-batches-py-target_archive");
  auto [train, test] = cifar10::load_data();
  EXPECT_EQ(train.x.shape(), Shape({5, 32, 32, 3}));
  EXPECT_EQ(labels_of(train), (std::vector<uint8_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(labels_of(test), (std::vector<uint8_t>{0}));
  expect_channels_last(train.x, cifar_pixels(5));
  expect_channels_last(test.x, cifar_pixels(1, 5));
  EXPECT_CONTAINS(train.x_source, "cifar-10-batches-py-target_archive' (cifar-10-batches-py/data_batch_1 to data_batch_5)");
}

TEST(Cifar10, SearchPathsFollowTheDocumentedOrder) {
  ScopedEnv a("KEROSENE_DATASETS", "/kd"), b("KERAS_HOME", "/kh"), c("KEROSENE_SYSTEM_DATASETS", "/sys");
  EXPECT_EQ(search_paths("cifar10"),
            (std::vector<std::string>{"/kd/cifar10", "/kh/datasets/cifar-10-batches-py-target",
                                      "/kh/datasets/cifar-10-batches-py", "/kh/datasets/cifar-10-batches-py-target_archive",
                                      "/kh/datasets/cifar-10-batches-py_archive", "/kh/datasets/cifar-10-batches-py.tar.gz",
                                      "/kh/datasets/cifar-10-python.tar.gz", "/sys/cifar10"}));
  EXPECT_EQ(search_paths("cifar100"),
            (std::vector<std::string>{"/kd/cifar100", "/kh/datasets/cifar-100-python-target",
                                      "/kh/datasets/cifar-100-python", "/kh/datasets/cifar-100-python-target_archive",
                                      "/kh/datasets/cifar-100-python_archive", "/kh/datasets/cifar-100-python.tar.gz",
                                      "/sys/cifar100"}));
}

TEST(Cifar10, EachPlaceOfTheSearchIsUsedInOrder) {
  CifarEnvironment env;
  // A different test-batch label in each place shows which one was loaded.
  auto write_at = [](const fs::path& dir, int64_t test_label) {
    write_cifar10_python(dir);
    write_file((dir / "test_batch").string(), cifar10_pickle(cifar_pixels(1), {test_label}));
  };
  auto tarball = [&write_at](const std::string& path, int64_t test_label) {
    TempDir dir;
    write_at(dir.path(), test_label);
    std::vector<TarMember> members;
    for (const auto& entry : fs::directory_iterator(dir.path())) {
      members.push_back({"cifar-10-batches-py/" + entry.path().filename().string(),
                         data::read_file_bytes(entry.path().string())});
    }
    write_file(path, gzip_bytes(tar_bytes(members)));
  };
  const fs::path cache = env.keras.path() / "datasets";
  write_at(env.system.path() / "cifar10", 1);
  tarball((cache / "cifar-10-python.tar.gz").string(), 2);
  tarball((cache / "cifar-10-batches-py.tar.gz").string(), 3);
  tarball((cache / "cifar-10-batches-py_archive").string(), 4);
  tarball((cache / "cifar-10-batches-py-target_archive").string(), 5);
  write_at(cache / "cifar-10-batches-py", 6);
  write_at(cache / "cifar-10-batches-py-target/cifar-10-batches-py", 7);
  write_at(env.datasets.path() / "cifar10", 8);
  for (uint8_t expected = 8; expected >= 1; --expected) {
    EXPECT_EQ(labels_of(cifar10::load_data().second), std::vector<uint8_t>{expected});
    const std::vector<std::string> places = search_paths("cifar10");
    fs::remove_all(places[8 - expected]);
  }
}

TEST(Cifar10, NotFoundListsEveryPlaceAndHowToGetIt) {
  CifarEnvironment env;
  fs::create_directories(env.datasets.path() / "cifar10");  // a directory without batches
  const std::string message = error_of([] { cifar10::load_data(); });
  EXPECT_THROW(cifar10::load_data(), IOError);
  EXPECT_CONTAINS(message, "dataset 'cifar10' was not found, and downloading it failed: cannot download "
                           "http://127.0.0.1:9/cifar-10-python.tar.gz");
  for (const std::string& place : search_paths("cifar10")) EXPECT_CONTAINS(message, "  - " + place + " (");
  EXPECT_CONTAINS(message, env.datasets / "cifar10" + " (a directory without CIFAR-10's batches (data_batch_1 to "
                                                     "data_batch_5, test_batch or their .bin), cifar-10-batches-py/");
  EXPECT_CONTAINS(message, "set KEROSENE_DATASETS to a directory holding cifar10/ with cifar-10-python.tar.gz");
  EXPECT_CONTAINS(message, "keras.datasets.cifar10.load_data()");
  EXPECT_TRUE(fs::is_empty(env.keras.path() / "datasets")) << "a failed download left a file";
}

TEST(Cifar100, FineAndCoarseLabelsFromEitherVersion) {
  CifarEnvironment env;
  const fs::path dir = env.datasets.path() / "cifar100";
  write_file((dir / "cifar-100-python/train").string(), cifar100_pickle(cifar_pixels(3), {19, 29, 99}, {11, 15, 19}));
  write_file((dir / "cifar-100-python/test").string(), cifar100_pickle(cifar_pixels(1, 3), {0}, {4}));
  for (int version = 0; version < 2; ++version) {
    SCOPED_TRACE(version == 0 ? "python version" : "binary version");
    auto [train, test] = cifar100::load_data();
    EXPECT_EQ(train.x.shape(), Shape({3, 32, 32, 3}));
    EXPECT_EQ(train.y.shape(), Shape({3, 1}));
    EXPECT_EQ(train.y.dtype(), DType::uint8);
    EXPECT_EQ(labels_of(train), (std::vector<uint8_t>{19, 29, 99}));
    EXPECT_EQ(labels_of(test), (std::vector<uint8_t>{0}));
    expect_channels_last(train.x, cifar_pixels(3));
    expect_channels_last(test.x, cifar_pixels(1, 3));
    auto [coarse_train, coarse_test] = cifar100::load_data("coarse");
    EXPECT_EQ(labels_of(coarse_train), (std::vector<uint8_t>{11, 15, 19}));
    EXPECT_EQ(labels_of(coarse_test), (std::vector<uint8_t>{4}));
    EXPECT_EQ(labels_of(load("cifar100").first), (std::vector<uint8_t>{19, 29, 99}));
    // The binary version: a coarse and a fine label byte before each image.
    fs::remove_all(dir);
    write_file((dir / "train.bin").string(), cifar_records(cifar_pixels(3), {{11, 19}, {15, 29}, {19, 99}}));
    write_file((dir / "test.bin").string(), cifar_records(cifar_pixels(1, 3), {{4, 0}}));
  }
  EXPECT_THROW(cifar100::load_data("medium"), ValueError);
  EXPECT_CONTAINS(error_of([] { cifar100::load_data("Fine"); }), "label_mode must be \"fine\" or \"coarse\", got \"Fine\"");
}

TEST(Cifar100, ReadsTheBatchCPickleWrote) {
  CifarEnvironment env;
  fs::create_directories(env.keras.path() / "datasets/cifar-100-python");
  for (const char* name : {"train", "test"}) {
    fs::copy_file(kFixtures / "cifar100_train", env.keras.path() / "datasets/cifar-100-python" / name);
  }
  EXPECT_EQ(labels_of(cifar100::load_data().first), (std::vector<uint8_t>{19, 29}));
  EXPECT_EQ(labels_of(cifar100::load_data("coarse").second), (std::vector<uint8_t>{11, 15}));
  expect_channels_last(cifar100::load_data().second.x, cifar_pixels(2));
}

// Writes CIFAR-10's python version with `name` replaced by `bytes`; returns that file's path.
std::string with_batch(const CifarEnvironment& env, const std::string& name, const Bytes& bytes) {
  const fs::path dir = env.datasets.path() / "cifar10";
  write_cifar10_python(dir);
  write_file((dir / name).string(), bytes);
  return (dir / name).string();
}

TEST(CifarErrors, MissingBatchIsNamed) {
  CifarEnvironment env;
  write_cifar10_python(env.datasets.path() / "cifar10");
  fs::remove(env.datasets.path() / "cifar10/data_batch_3");
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }),
                  "'" + env.datasets / "cifar10/data_batch_3" + "' is missing: expected CIFAR-10's python version, "
                                                              "data_batch_1 to data_batch_5 and test_batch");
  fs::remove_all(env.datasets.path() / "cifar10");
  write_cifar10_binary(env.datasets.path() / "cifar10");
  fs::remove(env.datasets.path() / "cifar10/test_batch.bin");
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), "test_batch.bin' is missing: expected CIFAR-10's binary version");
}

TEST(CifarErrors, BinaryFilesMustBeWholeRecords) {
  CifarEnvironment env;
  const fs::path dir = env.datasets.path() / "cifar10";
  write_cifar10_binary(dir);
  Bytes cut = cifar_records(cifar_pixels(2), {{1}, {2}});
  cut.resize(cut.size() - 100);
  write_file((dir / "data_batch_2.bin").string(), cut);
  std::string message = error_of([] { cifar10::load_data(); });
  EXPECT_CONTAINS(message, "'" + (dir / "data_batch_2.bin").string() + "' holds 6046 bytes: expected whole records of 3073 bytes");
  // CIFAR-100's records (two label bytes) where CIFAR-10's are expected.
  write_file((dir / "data_batch_2.bin").string(), cifar_records(cifar_pixels(2), {{1, 2}, {1, 2}}));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), "expected whole records of 3073 bytes (a label and 3072 pixels)");
  write_file((dir / "data_batch_2.bin").string(), {});
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), "holds 0 bytes");
  // A label past the classes.
  write_file((dir / "data_batch_2.bin").string(), cifar_records(cifar_pixels(2), {{1}, {10}}));
  message = error_of([] { cifar10::load_data(); });
  EXPECT_CONTAINS(message, "data_batch_2.bin': label 10 of image 1 is out of range: CIFAR-10's labels are 0 to 9");
  EXPECT_THROW(cifar10::load_data(), IOError);
}

TEST(CifarErrors, TruncatedPickleNamesFileAndOffset) {
  CifarEnvironment env;
  const Bytes whole = cifar10_pickle(cifar_pixels(2), {1, 2});
  // Cut inside the pixel string, inside the label list, and just before STOP.
  for (size_t keep : {size_t{1000}, whole.size() - 60, whole.size() - 1}) {
    SCOPED_TRACE(keep);
    const std::string path = with_batch(env, "data_batch_4", Bytes(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(keep)));
    const std::string message = error_of([] { cifar10::load_data(); });
    EXPECT_CONTAINS(message, "'" + path + "': not a CIFAR batch pickle: ");
    EXPECT_CONTAINS(message, "truncated?");
    EXPECT_CONTAINS(message, " at offset ");
  }
  const std::string path = with_batch(env, "data_batch_4", Bytes(whole.begin(), whole.begin() + 1000));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }),
                  "needs 6144 more bytes, but only 856 are left (truncated?) (opcode 'T' (0x54) at offset 139)");
}

TEST(CifarErrors, CorruptPickleNamesTheOpcode) {
  CifarEnvironment env;
  const Bytes good = cifar10_pickle(cifar_pixels(1), {1});
  auto expect = [&](const Bytes& bytes, const std::string& part) {
    const std::string path = with_batch(env, "test_batch", bytes);
    const std::string message = error_of([] { cifar10::load_data(); });
    EXPECT_CONTAINS(message, "'" + path + "': not a CIFAR batch pickle: ");
    EXPECT_CONTAINS(message, part);
  };
  // Another global than numpy's: never looked up, let alone called.
  Bytes global = good;
  const std::string numpy = "numpy.core.multiarray\n_reconstruct\n", os = "os\nsystem\n";
  const auto at = std::search(global.begin(), global.end(), numpy.begin(), numpy.end());
  global.erase(at, at + static_cast<std::ptrdiff_t>(numpy.size()));
  global.insert(global.begin() + 15, os.begin(), os.end());
  expect(global, "GLOBAL 'os.system' is not one a CIFAR batch uses");
  expect(global, "(opcode 'c' (0x63) at offset 14)");
  // An opcode outside the subset: INST (Python's protocol 0 way to call a class).
  Bytes inst = good;
  inst[5] = 'i';
  expect(inst, "not an opcode of a CIFAR batch");
  expect(inst, "(opcode 'i' (0x69) at offset 5)");
  // Another protocol.
  Bytes protocol = good;
  protocol[1] = 4;
  expect(protocol, "expected protocol 2 (cPickle's)");
  expect({'(', 'd', '.'}, "expected PROTO 2 first");
  expect({'(', 'd', '.'}, "(opcode '(' (0x28) at offset 0)");
  Bytes trailing = good;
  trailing.push_back('.');
  expect(trailing, "1 bytes after STOP");
  expect({0x80, 2, 'K', 1, '.'}, "STOP with 1 objects on the stack, expected the batch's dict");
  expect({0x80, 2, '}', 'h', 7, '.'}, "memo entry 7 was never stored");
  expect({0x80, 2, '}', 'e', '.'}, "no MARK to close");
  expect({}, "the pickle ends without its STOP opcode");
  // Objects past any batch's number are refused as they are made: a million MARKs.
  Bytes marks = {0x80, 2};
  marks.resize(marks.size() + (1 << 20) + 1, '(');
  expect(marks, "more than 1048576 objects: not a CIFAR batch (opcode '(' (0x28) at offset 1048578)");
  // Tuples nest no deeper than numpy's.
  expect({0x80, 2, '(', '(', '(', '(', 't', 't', 't', 't', '.'}, "tuples nested more than 3 deep");
  // A self-referencing dict (via the memo) is refused rather than built.
  expect({0x80, 2, '}', 'q', 1, 'U', 1, 'a', 'h', 1, 's', '.'}, "a dict value other than a numpy array");
}

TEST(CifarErrors, MalformedArraysAndLabels) {
  CifarEnvironment env;
  auto expect = [&](const Bytes& bytes, const std::string& part) {
    with_batch(env, "data_batch_1", bytes);
    EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), part);
  };
  const Bytes two = cifar_pixels(2);
  expect(CifarPickle().array("data", two, {2, 3072}, "f8").ints("labels", {1, 2}).bytes(),
         "numpy dtype 'f8': expected 'u1' (uint8)");
  expect(CifarPickle().array("data", two, {2, 3000}).ints("labels", {1, 2}).bytes(),
         "an array of shape (2, 3000) with 6144 bytes of uint8 data");
  expect(CifarPickle().array("data", two, {2, 32, 32, 3}).ints("labels", {1, 2}).bytes(),
         "'data' is of shape (2, 32, 32, 3), expected (N, 3072)");
  expect(CifarPickle().array("data", two, {2, 3072}).ints("labels", {1}).bytes(),
         "holds 2 images but 1 labels in 'labels': expected one label per image");
  expect(CifarPickle().array("data", two, {2, 3072}).ints("fine_labels", {1, 2}).bytes(),
         "has no list of labels 'labels': expected a CIFAR-10 batch, found data, fine_labels");
  expect(CifarPickle().ints("labels", {1, 2}).bytes(), "has no numpy array 'data'");
  expect(CifarPickle().array("data", two, {2, 3072}).ints("labels", {1, -1}).bytes(),
         "label -1 of image 1 is out of range: CIFAR-10's labels are 0 to 9");
  // Sizes past any real file's are refused by their claim (a 2 GiB string in a 30-byte file).
  Bytes huge = {0x80, 2, '}', 'q', 1, 'U', 4, 'd', 'a', 't', 'a', 'T', 0xff, 0xff, 0xff, 0x7f, 1, 2, 3};
  expect(huge, "needs 2147483647 more bytes, but only 3 are left");
  huge[15] = 0xff;
  expect(huge, "a string of negative length -1");
}

TEST(CifarErrors, CoarseLabelsOutOfRangeAndMissing) {
  CifarEnvironment env;
  const fs::path dir = env.datasets.path() / "cifar100";
  write_file((dir / "train").string(), cifar100_pickle(cifar_pixels(1), {50}, {20}));
  write_file((dir / "test").string(), cifar100_pickle(cifar_pixels(1), {0}, {0}));
  EXPECT_EQ(labels_of(cifar100::load_data().first), std::vector<uint8_t>{50});
  EXPECT_CONTAINS(error_of([] { cifar100::load_data("coarse"); }),
                  "train': label 20 of image 0 is out of range: CIFAR-100's coarse labels are 0 to 19");
  write_file((dir / "test").string(), cifar10_pickle(cifar_pixels(1), {0}));
  EXPECT_CONTAINS(error_of([] { cifar100::load_data(); }),
                  "test' has no list of labels 'fine_labels': expected a CIFAR-100 batch, found data, labels");
}

TEST(CifarErrors, BadTarballsAreNamed) {
  CifarEnvironment env;
  const std::string path = env.datasets / "cifar10/cifar-10-python.tar.gz";
  std::vector<TarMember> members;
  for (int k = 1; k <= 5; ++k) {
    members.push_back({"cifar-10-batches-py/data_batch_" + std::to_string(k), cifar10_pickle(cifar_pixels(1), {1})});
  }
  write_file(path, gzip_bytes(tar_bytes(members)));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }),
                  "'" + path + "' has no member 'cifar-10-batches-py/test_batch': expected CIFAR-10's python version");
  members.push_back({"cifar-10-batches-py/test_batch", cifar10_pickle(cifar_pixels(1), {1})});
  const Bytes tar = tar_bytes(members);
  // Cut short inside the last member, by the tar or by gzip.
  write_file(path, gzip_bytes(Bytes(tar.begin(), tar.end() - 3000)));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), "member 'cifar-10-batches-py/test_batch' is cut short");
  Bytes gz = gzip_bytes(tar);
  gz.resize(gz.size() - 20);
  write_file(path, gz);
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), path);
  // A corrupt header.
  Bytes corrupt = tar;
  corrupt[5] ^= 1;
  write_file(path, gzip_bytes(corrupt));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }),
                  "'" + path + "': the tar header at offset 0 has a bad checksum: not a tar archive, or a corrupt one");
  // A corrupt batch inside is named as a member.
  members[2].data[0] = 'x';
  write_file(path, gzip_bytes(tar_bytes(members)));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }),
                  "'" + path + "' member 'cifar-10-batches-py/data_batch_3': not a CIFAR batch pickle");
  // A member claiming 8 GiB is refused by its claim, and one cut short by the end of the data.
  write_file(path, gzip_bytes(tar_bytes({{"cifar-10-batches-py/data_batch_1", {1, 2, 3}, '0', 077777777777}})));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }),
                  "member 'cifar-10-batches-py/data_batch_1' holds 8589934591 bytes, more than the 67108864 expected");
  write_file(path, gzip_bytes(tar_bytes({{"cifar-10-batches-py/readme.html", {1, 2, 3}, '0', 077777777777}})));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), "member 'cifar-10-batches-py/readme.html' is cut short");
  // A tarball of something else.
  write_file(path, gzip_bytes(tar_bytes({{"mnist/train-images-idx3-ubyte", {1, 2, 3}}})));
  EXPECT_CONTAINS(error_of([] { cifar10::load_data(); }), "'" + path + "' holds no CIFAR-10 batches");
  EXPECT_THROW(cifar10::load_data(), IOError);
}

TEST(CifarPickle, ManyImagesUseLongMemoIndicesAndBatchedAppends) {
  // 1001 file names push the memo past 255 (LONG_BINPUT) and the lists past cPickle's batches of
  // 1000 (MARK ... APPENDS, then APPEND for the last one).
  CifarEnvironment env;
  std::vector<int64_t> labels(1001);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<int64_t>(i % 10);
  const Bytes pickle = cifar10_pickle(cifar_pixels(1001), labels);
  const Bytes long_binput = {'r', 0, 1, 0, 0};  // memo entry 256
  EXPECT_NE(std::search(pickle.begin(), pickle.end(), long_binput.begin(), long_binput.end()), pickle.end());
  const std::string path = with_batch(env, "test_batch", pickle);
  auto [train, test] = cifar10::load_data();
  EXPECT_EQ(test.x.shape(), Shape({1001, 32, 32, 3}));
  const std::vector<uint8_t> y = labels_of(test);
  EXPECT_EQ(std::vector<int64_t>(y.begin(), y.end()), labels);
  expect_channels_last(test.x, cifar_pixels(1001));
}

}  // namespace
}  // namespace kerosene::datasets
