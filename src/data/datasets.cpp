// keras.datasets for C++: finds MNIST and Fashion-MNIST where Keras, Debian or the user keep
// them (see the search order in kerosene/datasets.h) and loads them as uint8 tensors. CIFAR has
// its own files and places (data/cifar_datasets.cpp); load() and search_paths() lead there too.
#include "kerosene/datasets.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "core/environment.h"
#include "data/array.h"
#include "data/dataset_places.h"
#include "data/download.h"
#include "data/idx_reader.h"
#include "data/npz_reader.h"
#include "kerosene/error.h"

namespace kerosene::datasets {
namespace fs = std::filesystem;
namespace {

constexpr const char* kIdxFiles[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                      "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
constexpr const char* kNpzKeys[4] = {"x_train", "y_train", "x_test", "y_test"};

// "mnist", "fashion_mnist", "cifar10" or "cifar100" for a known dataset name, else empty.
std::string dataset_name(const std::string& name) {
  if (name == "mnist" || detail::is_cifar(name)) return name;
  if (name == "fashion_mnist" || name == "fashion-mnist") return "fashion_mnist";
  return "";
}

std::string dashed(std::string name) {
  for (char& c : name) c = c == '_' ? '-' : c;
  return name;
}

bool path_exists(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec);
}

// The IDX file `base` in `directory`, raw or gzipped; empty if neither is there.
std::string find_idx(const fs::path& directory, const std::string& base) {
  for (const std::string& name : {base, base + ".gz"}) {
    if (path_exists(directory / name)) return (directory / name).string();
  }
  return "";
}

bool has_idx_files(const fs::path& directory) {
  for (const char* base : kIdxFiles) {
    if (!find_idx(directory, base).empty()) return true;
  }
  return false;
}

Split make_split(data::Array&& images, data::Array&& labels, const std::string& images_name,
                 const std::string& labels_name) {
  auto check = [](const data::Array& a, size_t rank, const std::string& name, const char* kind) {
    if (a.shape.size() != rank || a.dtype != DType::uint8) {
      std::string shape;
      for (int64_t d : a.shape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
      throw IOError(name + ": expected " + kind + " as unsigned bytes, found " +
                    std::string(dtype_name(a.dtype)) + " of shape (" + shape +
                    (a.shape.size() == 1 ? ",)" : ")"));
    }
  };
  check(images, 3, images_name, "images of shape (N, rows, cols)");
  check(labels, 1, labels_name, "labels of shape (N,)");
  if (images.shape[0] != labels.shape[0]) {
    throw ValueError(images_name + " holds " + std::to_string(images.shape[0]) + " images but " +
                     labels_name + " holds " + std::to_string(labels.shape[0]) +
                     " labels: expected one label per image");
  }
  return Split{data::to_tensor(std::move(images)), data::to_tensor(std::move(labels)), images_name, labels_name};
}

TrainTest load_npz_file(const std::string& path) {
  std::map<std::string, data::Array> arrays = data::read_npz(path);
  for (const char* key : kNpzKeys) {
    if (arrays.count(key) != 0) continue;
    std::string found;
    for (const auto& [name, array] : arrays) found += (found.empty() ? "" : ", ") + name;
    throw IOError("'" + path + "' has no array '" + key +
                  "': expected x_train, y_train, x_test and y_test, found " +
                  (found.empty() ? "no arrays" : found));
  }
  auto member = [&](const char* key) { return "'" + path + "' member '" + key + "'"; };
  Split train = make_split(std::move(arrays["x_train"]), std::move(arrays["y_train"]),
                           member("x_train"), member("y_train"));
  Split test = make_split(std::move(arrays["x_test"]), std::move(arrays["y_test"]),
                          member("x_test"), member("y_test"));
  return {std::move(train), std::move(test)};
}

// Loads the dataset from `place` if it holds one: a .npz file, or a directory with IDX files or
// one of `npz_names`. Returns nothing, with the reason in *why, when it holds none.
std::optional<TrainTest> try_load(const fs::path& place, const std::vector<std::string>& npz_names,
                                  std::string* why) {
  std::error_code ec;
  if (fs::is_regular_file(place, ec) && place.extension() == ".npz") {
    return load_npz_file(place.string());
  }
  if (!fs::is_directory(place, ec)) {
    *why = path_exists(place) ? "not a directory or .npz file" : "not found";
    return std::nullopt;
  }
  // One IDX file present means the user meant this copy: load it, so that a missing one is named.
  if (has_idx_files(place)) return load_idx_directory(place.string());
  for (const std::string& npz : npz_names) {
    if (fs::is_regular_file(place / npz, ec)) return load_npz_file((place / npz).string());
  }
  *why = "a directory without the IDX files or " + npz_names.front();
  return std::nullopt;
}

// Where keras.datasets downloads from, and what it checks: mnist.npz against the SHA-256 Keras
// publishes; Fashion-MNIST's four files against nothing, as Keras (gzip's CRC and the IDX
// reader's size checks still catch a damaged file).
constexpr const char* kKerasDatasetsUrl = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/";
constexpr const char* kMnistSha256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1";

// Downloads `name` into Keras' cache and loads it, as keras.datasets does when the file is not
// there. Returns nothing, with the reason in *why, when that fails.
std::optional<TrainTest> download(const std::string& name, std::string* why) {
  const std::string home = detail::keras_home();
  if (home.empty()) {
    *why = "there is no home directory for Keras' cache (set KERAS_HOME)";
    return std::nullopt;
  }
  const std::string base = detail::download_base(kKerasDatasetsUrl);
  const fs::path cache = fs::path(home) / "datasets";
  const fs::path directory = name == "mnist" ? cache : cache / dashed(name);
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec) {
    *why = "cannot create Keras' cache directory " + directory.string() + ": " + ec.message();
    return std::nullopt;
  }
  try {
    if (name == "mnist") {
      data::download_file(base + "mnist.npz", (directory / "mnist.npz").string(), kMnistSha256, 64 << 20);
      return load_npz_file((directory / "mnist.npz").string());
    }
    for (const char* file : kIdxFiles) {
      const std::string gz = std::string(file) + ".gz";
      if (!path_exists(directory / gz)) data::download_file(base + gz, (directory / gz).string(), "", 64 << 20);
    }
    return load_idx_directory(directory.string());
  } catch (const IOError& e) {
    *why = e.what();
    return std::nullopt;
  }
}

TrainTest load_named(const std::string& name) {
  const std::vector<std::string> places = search_paths(name);
  const std::vector<std::string> npz_names = {name + ".npz", dashed(name) + ".npz"};
  std::string looked;
  if (env_string("KEROSENE_DATASETS").empty()) looked += "\n  - $KEROSENE_DATASETS (not set)";
  for (const std::string& place : places) {
    std::string why;
    if (std::optional<TrainTest> loaded = try_load(place, npz_names, &why)) {
      return std::move(*loaded);
    }
    looked += "\n  - " + place + " (" + why + ")";
  }
  std::string download_failure;
  if (std::optional<TrainTest> loaded = download(name, &download_failure)) return std::move(*loaded);
  std::string message = "dataset '" + name + "' was not found, and downloading it failed: " + download_failure +
                        "\nLooked in:" + looked;
  message += "\nTo get it, any one of:\n  - set KEROSENE_DATASETS to a directory holding " + name;
  message +=
      "/ with the four IDX files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
      "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz)";
  if (name == "mnist") {
    message +=
        "\n  - copy Keras' mnist.npz into ~/.keras/datasets/ (or $KERAS_HOME/datasets/), or let "
        "kerosene download it there on a machine that reaches storage.googleapis.com";
  } else {
    message +=
        "\n  - apt-get install dataset-fashion-mnist (Debian, Ubuntu)"
        "\n  - let Keras download it into ~/.keras/datasets/fashion-mnist/ (python -c "
        "\"import keras; keras.datasets.fashion_mnist.load_data()\")";
  }
  throw IOError(message);
}

}  // namespace

std::string detail::keras_home() {
  if (std::string home = env_string("KERAS_HOME"); !home.empty()) return home;
  std::string home = env_string("HOME");
  if (home.empty()) {
    if (const passwd* entry = getpwuid(getuid()); entry != nullptr && entry->pw_dir != nullptr) {
      home = entry->pw_dir;
    }
  }
  return home.empty() ? "" : (fs::path(home) / ".keras").string();
}

std::string detail::system_datasets() {
  // Debian's dataset packages install here; KEROSENE_SYSTEM_DATASETS moves it (packagers, tests).
  std::string system = env_string("KEROSENE_SYSTEM_DATASETS");
  return system.empty() ? "/usr/share/datasets" : system;
}

std::string detail::download_base(const std::string& keras_url) {
  std::string base = env_string("KEROSENE_DATASETS_URL");
  if (base.empty()) base = keras_url;
  if (!base.ends_with('/')) base += '/';
  return base;
}

std::vector<std::string> search_paths(const std::string& name) {
  const std::string canonical = dataset_name(name);
  if (canonical.empty()) {
    throw ValueError("unknown dataset '" + name + "': expected 'mnist', 'fashion_mnist', 'cifar10' or 'cifar100'");
  }
  if (detail::is_cifar(canonical)) return detail::cifar_search_paths(canonical);
  const std::string dash = dashed(canonical);
  std::vector<std::string> places;
  if (std::string root = env_string("KEROSENE_DATASETS"); !root.empty()) {
    places.push_back((fs::path(root) / canonical).string());
    if (dash != canonical) places.push_back((fs::path(root) / dash).string());
  }
  if (std::string keras = detail::keras_home(); !keras.empty()) {
    const fs::path cache = fs::path(keras) / "datasets";
    // keras.datasets keeps mnist as one .npz, fashion_mnist as the original gzipped IDX files.
    places.push_back((cache / (canonical == "mnist" ? "mnist.npz" : dash)).string());
  }
  places.push_back((fs::path(detail::system_datasets()) / dash).string());
  return places;
}

TrainTest load_idx_directory(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    throw IOError("cannot load IDX files from '" + directory +
                  "': " + (path_exists(directory) ? "it is not a directory" : "no such directory"));
  }
  std::string paths[4];
  for (int i = 0; i < 4; ++i) {
    paths[i] = find_idx(directory, kIdxFiles[i]);
    if (paths[i].empty()) {
      // Appended piece by piece: GCC 12 misreads "'" + std::string&& as an overlapping copy.
      std::string message = "'";
      message += (fs::path(directory) / kIdxFiles[i]).string();
      message +=
          "' (or .gz) is missing: expected the four IDX files train-images-idx3-ubyte, "
          "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, raw or gzipped";
      throw IOError(message);
    }
  }
  auto quoted = [](const std::string& s) { return "'" + s + "'"; };
  Split train = make_split(data::read_idx(paths[0]), data::read_idx(paths[1]), quoted(paths[0]),
                           quoted(paths[1]));
  Split test = make_split(data::read_idx(paths[2]), data::read_idx(paths[3]), quoted(paths[2]),
                          quoted(paths[3]));
  return {std::move(train), std::move(test)};
}

TrainTest load(const std::string& name_or_directory) {
  if (std::string name = dataset_name(name_or_directory); !name.empty()) {
    return detail::is_cifar(name) ? detail::load_cifar(name, "fine") : load_named(name);
  }
  if (!path_exists(name_or_directory)) {
    throw ValueError("unknown dataset '" + name_or_directory +
                     "': expected 'mnist', 'fashion_mnist', 'cifar10', 'cifar100', or the path of a directory or "
                     ".npz file");
  }
  // A directory without IDX files may hold one .npz of any name.
  std::vector<std::string> npz_names;
  std::error_code ec;
  if (fs::is_directory(name_or_directory, ec) && !has_idx_files(name_or_directory)) {
    for (const auto& entry : fs::directory_iterator(name_or_directory, ec)) {
      if (entry.path().extension() == ".npz") npz_names.push_back(entry.path().filename().string());
    }
    if (npz_names.size() > 1) {
      throw IOError("'" + name_or_directory +
                    "' holds several .npz files and no IDX files: " + "name the one to load");
    }
  }
  if (npz_names.empty()) npz_names.push_back("a .npz file");
  std::string why;
  if (std::optional<TrainTest> loaded = try_load(name_or_directory, npz_names, &why)) {
    return std::move(*loaded);
  }
  throw IOError("cannot load a dataset from '" + name_or_directory + "': " + why);
}

TrainTest mnist::load_data() { return load("mnist"); }
TrainTest fashion_mnist::load_data() { return load("fashion_mnist"); }

}  // namespace kerosene::datasets
