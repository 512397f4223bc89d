#include "data/cifar_reader.h"

#include <filesystem>
#include <map>
#include <vector>

#include "data/array.h"
#include "data/gzip.h"
#include "data/pickle_reader.h"
#include "data/tar_reader.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace fs = std::filesystem;
namespace {

constexpr size_t kPlane = 32 * 32;
constexpr size_t kPixels = 3 * kPlane;
// The most one batch file may hold: CIFAR-10's batches are 31 MB (10000 images, labels and file
// names), CIFAR-100's training batch 155 MB (50000). A tarball of zeros cannot make more of them.
uint64_t max_batch_bytes(const CifarKind& kind) { return (kind.hundred ? uint64_t{200} : uint64_t{64}) << 20; }

enum class Format { python, binary };

// One version of one dataset: its batches, the directory its tarball extracts to, the tarball.
struct Layout {
  Format format;
  std::string directory, archive;
  std::vector<std::string> train, test;
};

std::vector<Layout> layouts(const CifarKind& kind) {
  if (kind.hundred) {
    return {{Format::python, "cifar-100-python", "cifar-100-python.tar.gz", {"train"}, {"test"}},
            {Format::binary, "cifar-100-binary", "cifar-100-binary.tar.gz", {"train.bin"}, {"test.bin"}}};
  }
  std::vector<std::string> py, bin;
  for (int i = 1; i <= 5; ++i) {
    py.push_back("data_batch_" + std::to_string(i));
    bin.push_back(py.back() + ".bin");
  }
  return {{Format::python, "cifar-10-batches-py", "cifar-10-python.tar.gz", py, {"test_batch"}},
          {Format::binary, "cifar-10-batches-bin", "cifar-10-binary.tar.gz", bin, {"test_batch.bin"}}};
}

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// "data_batch_1 to data_batch_5", "test_batch".
std::string span(const std::vector<std::string>& names) {
  return names.size() == 1 ? names[0] : names.front() + " to " + names.back();
}

std::string describe(const Layout& layout, const CifarKind& kind) {
  return cifar_title(kind) + "'s " + (layout.format == Format::python ? "python" : "binary") + " version, " +
         span(layout.train) + " and " + layout.test[0];
}

// An image and its label, as decoded from either version.
struct Batch {
  std::vector<uint8_t> x;  // channels last
  std::vector<uint8_t> y;
};

void check_label(int64_t label, size_t index, const CifarKind& kind, const std::string& what) {
  const int64_t classes = kind.hundred ? (kind.coarse ? 20 : 100) : 10;
  if (label < 0 || label >= classes) {
    throw IOError(what + ": label " + std::to_string(label) + " of image " + std::to_string(index) +
                  " is out of range: " + cifar_title(kind) + (kind.coarse ? "'s coarse" : "'s") + " labels are 0 to " +
                  std::to_string(classes - 1));
  }
}

// CIFAR keeps an image as its red, green and blue planes; Keras hands them out channels last.
void to_channels_last(const uint8_t* planes, uint8_t* out) {
  for (size_t c = 0; c < 3; ++c) {
    for (size_t p = 0; p < kPlane; ++p) out[p * 3 + c] = planes[c * kPlane + p];
  }
}

Batch make_batch(size_t n, const std::string& what) {
  Batch batch;
  resize_or_throw(batch.x, n * kPixels, what);
  batch.y.resize(n);
  return batch;
}

// Records of a label byte (CIFAR-100: a coarse and a fine one) and the image's 3072 bytes.
Batch decode_binary(const std::vector<uint8_t>& bytes, const CifarKind& kind, const std::string& what) {
  const size_t labels = kind.hundred ? 2 : 1, record = labels + kPixels;
  if (bytes.empty() || bytes.size() % record != 0) {
    throw IOError(what + " holds " + std::to_string(bytes.size()) + " bytes: expected whole records of " +
                  std::to_string(record) + " bytes (" + (kind.hundred ? "a coarse and a fine label" : "a label") +
                  " and 3072 pixels), as in " + cifar_title(kind) + "'s binary version (cut short, or another file?)");
  }
  const size_t n = bytes.size() / record, label_at = kind.hundred && !kind.coarse ? 1 : 0;
  Batch batch = make_batch(n, what);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* r = bytes.data() + i * record;
    check_label(r[label_at], i, kind, what);
    batch.y[i] = r[label_at];
    to_channels_last(r + labels, batch.x.data() + i * kPixels);
  }
  return batch;
}

// A pickled dict with the images as a (N, 3072) uint8 array under "data" and the labels as a list
// under "labels" (CIFAR-100: "fine_labels" and "coarse_labels").
Batch decode_pickle(const std::vector<uint8_t>& bytes, const CifarKind& kind, const std::string& what) {
  const PickledBatch pickled = read_cifar_pickle(bytes.data(), bytes.size(), what);
  const std::string key = !kind.hundred ? "labels" : kind.coarse ? "coarse_labels" : "fine_labels";
  const auto data = pickled.arrays.find("data");
  const auto labels = pickled.int_lists.find(key);
  if (data == pickled.arrays.end() || labels == pickled.int_lists.end()) {
    std::string found;
    for (const auto& [name, array] : pickled.arrays) found += (found.empty() ? "" : ", ") + name;
    for (const auto& [name, list] : pickled.int_lists) found += (found.empty() ? "" : ", ") + name;
    throw IOError(what + " has no " + (data == pickled.arrays.end() ? "numpy array 'data'" : "list of labels '" + key + "'") +
                  ": expected a " + cifar_title(kind) + " batch, found " + (found.empty() ? "neither" : found));
  }
  const std::vector<int64_t>& shape = data->second.shape;
  if (shape.size() != 2 || shape[1] != static_cast<int64_t>(kPixels) || shape[0] == 0) {
    std::string dims;
    for (int64_t d : shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    throw IOError(what + ": 'data' is of shape (" + dims + "), expected (N, 3072): one 32x32 RGB image per row");
  }
  const size_t n = static_cast<size_t>(shape[0]);
  if (labels->second.size() != n) {
    throw IOError(what + " holds " + std::to_string(n) + " images but " + std::to_string(labels->second.size()) +
                  " labels in '" + key + "': expected one label per image");
  }
  Batch batch = make_batch(n, what);
  for (size_t i = 0; i < n; ++i) {
    check_label(labels->second[i], i, kind, what);
    batch.y[i] = static_cast<uint8_t>(labels->second[i]);
    to_channels_last(data->second.data + i * kPixels, batch.x.data() + i * kPixels);
  }
  return batch;
}

Batch decode(Format format, const std::vector<uint8_t>& bytes, const CifarKind& kind, const std::string& what) {
  return format == Format::python ? decode_pickle(bytes, kind, what) : decode_binary(bytes, kind, what);
}

// Joins a split's batches into x (N, 32, 32, 3) and y (N, 1), freeing each as it is copied.
datasets::Split join(std::vector<Batch> batches, const std::string& source) {
  Array x{{0, 32, 32, 3}, DType::uint8, {}}, y{{0, 1}, DType::uint8, {}};
  if (batches.size() == 1) {
    x.bytes = std::move(batches[0].x);
    y.bytes = std::move(batches[0].y);
  } else {
    size_t n = 0;
    for (const Batch& b : batches) n += b.y.size();
    resize_or_throw(x.bytes, n * kPixels, "the images of " + source);
    size_t at = 0;
    for (Batch& b : batches) {
      std::copy(b.x.begin(), b.x.end(), x.bytes.begin() + static_cast<std::ptrdiff_t>(at * kPixels));
      y.bytes.insert(y.bytes.end(), b.y.begin(), b.y.end());
      at += b.y.size();
      b = Batch{};
    }
  }
  x.shape[0] = y.shape[0] = static_cast<int64_t>(y.bytes.size());
  return datasets::Split{to_tensor(std::move(x)), to_tensor(std::move(y)), source, source};
}

datasets::TrainTest load_directory(const fs::path& directory, const Layout& layout, const CifarKind& kind) {
  std::error_code ec;
  // Every batch is looked for before any is read, so that a missing one is named at once.
  for (const auto* names : {&layout.train, &layout.test}) {
    for (const std::string& name : *names) {
      if (!fs::is_regular_file(directory / name, ec)) {
        throw IOError(quoted((directory / name).string()) + " is missing: expected " + describe(layout, kind) +
                      " in " + quoted(directory.string()));
      }
    }
  }
  auto split = [&](const std::vector<std::string>& names) {
    std::vector<Batch> batches;
    for (const std::string& name : names) {
      const std::string path = (directory / name).string();
      batches.push_back(decode(layout.format, read_file_bytes(path, max_batch_bytes(kind)), kind, quoted(path)));
    }
    return join(std::move(batches), quoted(directory.string()) + " (" + span(names) + ")");
  };
  datasets::Split train = split(layout.train);
  return {std::move(train), split(layout.test)};
}

// Reads the archive once, decoding each batch as its member goes by (a tarball lists them in
// any order), and keeps the version whose batches are all there.
datasets::TrainTest load_archive(const std::string& path, const CifarKind& kind) {
  const std::vector<Layout> all = layouts(kind);
  std::vector<std::map<std::string, Batch>> found(all.size());
  TarReader tar(path);
  while (tar.next()) {
    const std::string name = tar.name().starts_with("./") ? tar.name().substr(2) : tar.name();
    for (size_t l = 0; l < all.size(); ++l) {
      for (const auto* names : {&all[l].train, &all[l].test}) {
        for (const std::string& file : *names) {
          if (name != all[l].directory + "/" + file) continue;
          found[l][file] = decode(all[l].format, tar.read(max_batch_bytes(kind)), kind, tar.describe());
        }
      }
    }
  }
  for (size_t l = 0; l < all.size(); ++l) {
    const Layout& layout = all[l];
    if (found[l].empty()) continue;
    auto split = [&](const std::vector<std::string>& names) {
      std::vector<Batch> batches;
      for (const std::string& file : names) {
        const auto it = found[l].find(file);
        if (it == found[l].end()) {
          throw IOError(quoted(path) + " has no member " + quoted(layout.directory + "/" + file) + ": expected " +
                        describe(layout, kind) + " in " + layout.directory + "/");
        }
        batches.push_back(std::move(it->second));
      }
      return join(std::move(batches), quoted(path) + " (" + layout.directory + "/" + span(names) + ")");
    };
    datasets::Split train = split(layout.train);
    return {std::move(train), split(layout.test)};
  }
  throw IOError(quoted(path) + " holds no " + cifar_title(kind) + " batches: expected " + describe(all[0], kind) +
                " in " + all[0].directory + "/, or the " + describe(all[1], kind) + " in " + all[1].directory + "/");
}

}  // namespace

std::string cifar_title(const CifarKind& kind) { return kind.hundred ? "CIFAR-100" : "CIFAR-10"; }

std::optional<datasets::TrainTest> load_cifar(const std::string& place, const CifarKind& kind, std::string* why) {
  std::error_code ec;
  if (fs::is_regular_file(place, ec)) return load_archive(place, kind);
  if (!fs::is_directory(place, ec)) {
    *why = fs::exists(place, ec) ? "not a directory or archive" : "not found";
    return std::nullopt;
  }
  const fs::path directory(place);
  const std::vector<Layout> all = layouts(kind);
  // One batch present means the user meant this copy: load it, so that a missing one is named.
  for (const Layout& layout : all) {
    for (const auto* names : {&layout.train, &layout.test}) {
      for (const std::string& name : *names) {
        if (fs::exists(directory / name, ec)) return load_directory(directory, layout, kind);
      }
    }
  }
  for (const Layout& layout : all) {
    if (fs::is_directory(directory / layout.directory, ec)) return load_directory(directory / layout.directory, layout, kind);
  }
  for (const Layout& layout : all) {
    if (fs::exists(directory / layout.archive, ec)) return load_archive((directory / layout.archive).string(), kind);
  }
  *why = "a directory without " + cifar_title(kind) + "'s batches (" + span(all[0].train) + ", " + all[0].test[0] +
         " or their .bin), " + all[0].directory + "/, " + all[1].directory + "/, " + all[0].archive + " or " +
         all[1].archive;
  return std::nullopt;
}

}  // namespace kerosene::data
