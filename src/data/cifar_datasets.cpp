// keras.datasets.cifar10 and cifar100 for C++: finds CIFAR where the user or Keras keep it (the
// search order is in kerosene/datasets.h), else downloads the python version from the CIFAR site
// into Keras' cache as Keras does, and loads whichever form was found (data/cifar_reader.h).
#include <filesystem>
#include <optional>

#include "core/environment.h"
#include "data/cifar_reader.h"
#include "data/dataset_places.h"
#include "data/download.h"
#include "kerosene/datasets.h"
#include "kerosene/error.h"

namespace kerosene::datasets {
namespace fs = std::filesystem;
namespace {

// What keras.datasets calls each one: the directory name it gives get_file, the tarball on the
// CIFAR site, and the SHA-256 Keras checks it against.
struct Cifar {
  std::string name, keras_directory, site_archive, sha256;
};

const Cifar& cifar(const std::string& name) {
  static const Cifar cifar10{"cifar10", "cifar-10-batches-py", "cifar-10-python.tar.gz",
                             "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"};
  static const Cifar cifar100{"cifar100", "cifar-100-python", "cifar-100-python.tar.gz",
                              "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7"};
  return name == "cifar10" ? cifar10 : cifar100;
}

constexpr const char* kCifarSiteUrl = "https://www.cs.toronto.edu/~kriz/";
// The python versions' tarballs are 170 MB.
constexpr uint64_t kMaxDownloadBytes = uint64_t{256} << 20;

// Keras' get_file has kept CIFAR in three ways: Keras 3 downloads <dir>-target_archive and
// extracts it into <dir>-target/<dir>/, earlier Keras 3 used <dir>_archive and <dir>/, tf.keras
// <dir>.tar.gz and <dir>/. The CIFAR site's own name for the tarball is looked for too.
std::vector<std::string> keras_places(const Cifar& c, const fs::path& cache) {
  const std::string d = c.keras_directory;
  std::vector<std::string> places;
  for (const std::string& name : {d + "-target", d, d + "-target_archive", d + "_archive", d + ".tar.gz"}) {
    places.push_back((cache / name).string());
  }
  if (c.site_archive != d + ".tar.gz") places.push_back((cache / c.site_archive).string());
  return places;
}

fs::path download_target(const std::string& home, const Cifar& c) {
  return fs::path(home) / "datasets" / (c.keras_directory + "-target_archive");
}

// Downloads the python version's tarball where Keras 3 keeps it (Keras finds it there too) and
// loads it without extracting. Returns nothing, with the reason in *why, when that fails.
std::optional<TrainTest> download(const Cifar& c, const data::CifarKind& kind, std::string* why) {
  const std::string home = detail::keras_home();
  if (home.empty()) {
    *why = "there is no home directory for Keras' cache (set KERAS_HOME)";
    return std::nullopt;
  }
  const fs::path target = download_target(home, c);
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  if (ec) {
    *why = "cannot create Keras' cache directory " + target.parent_path().string() + ": " + ec.message();
    return std::nullopt;
  }
  try {
    const std::string base = detail::download_base(kCifarSiteUrl);
    data::download_file(base + c.site_archive, target.string(), c.sha256, kMaxDownloadBytes);
    return data::load_cifar(target.string(), kind, why);
  } catch (const IOError& e) {
    *why = e.what();
    return std::nullopt;
  }
}

}  // namespace

bool detail::is_cifar(const std::string& name) { return name == "cifar10" || name == "cifar100"; }

std::vector<std::string> detail::cifar_search_paths(const std::string& name) {
  std::vector<std::string> places;
  if (std::string root = env_string("KEROSENE_DATASETS"); !root.empty()) {
    places.push_back((fs::path(root) / name).string());
  }
  if (std::string keras = keras_home(); !keras.empty()) {
    for (std::string& place : keras_places(cifar(name), fs::path(keras) / "datasets")) places.push_back(std::move(place));
  }
  places.push_back((fs::path(system_datasets()) / name).string());
  return places;
}

TrainTest detail::load_cifar(const std::string& name, const std::string& label_mode) {
  const Cifar& c = cifar(name);
  const data::CifarKind kind{name == "cifar100", label_mode == "coarse"};
  std::string looked;
  if (env_string("KEROSENE_DATASETS").empty()) looked += "\n  - $KEROSENE_DATASETS (not set)";
  for (const std::string& place : cifar_search_paths(name)) {
    std::string why;
    if (std::optional<TrainTest> loaded = data::load_cifar(place, kind, &why)) return std::move(*loaded);
    looked += "\n  - " + place + " (" + why + ")";
  }
  std::string download_failure;
  if (std::optional<TrainTest> loaded = download(c, kind, &download_failure)) return std::move(*loaded);
  std::string message = "dataset '" + name + "' was not found, and downloading it failed: " + download_failure +
                        "\nLooked in:" + looked + "\nTo get it, any one of:\n  - set KEROSENE_DATASETS to a directory holding " +
                        name + "/ with " + c.site_archive + " (from https://www.cs.toronto.edu/~kriz/cifar.html), the " +
                        c.keras_directory + "/ it extracts to, or the binary version";
  message += "\n  - let Keras download it into ~/.keras/datasets/ (python -c \"import keras; keras.datasets." + name +
             ".load_data()\"), or let kerosene download it there on a machine that reaches www.cs.toronto.edu";
  throw IOError(message);
}

TrainTest cifar10::load_data() { return detail::load_cifar("cifar10", "fine"); }

TrainTest cifar100::load_data(const std::string& label_mode) {
  if (label_mode != "fine" && label_mode != "coarse") {
    throw ValueError("cifar100::load_data: label_mode must be \"fine\" or \"coarse\", got \"" + label_mode + "\"");
  }
  return detail::load_cifar("cifar100", label_mode);
}

}  // namespace kerosene::datasets
