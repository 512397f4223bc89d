// Ready-made datasets, loaded the way keras.datasets loads them: from the copies Keras, Debian
// or the user already have, else downloaded into Keras' cache from Keras' own URLs.
//
// Where load_data() looks for a dataset `name` ("mnist" or "fashion_mnist"), in order:
//   1. $KEROSENE_DATASETS/<name>/ holding the four IDX files (raw or .gz) or <name>.npz;
//      for fashion_mnist both "fashion_mnist/" and "fashion-mnist/" are accepted.
//   2. Keras' cache, $KERAS_HOME/datasets/ if KERAS_HOME is set, else ~/.keras/datasets/:
//      mnist.npz for mnist; the directory fashion-mnist/ with the four .gz IDX files for
//      fashion_mnist (where keras.datasets puts them).
//   3. /usr/share/datasets/<name with '-' for '_'>/ with the four IDX files (Debian's
//      dataset-fashion-mnist package installs /usr/share/datasets/fashion-mnist/);
//      $KEROSENE_SYSTEM_DATASETS replaces /usr/share/datasets.
//   4. Otherwise a download into Keras' cache (2.) from $KEROSENE_DATASETS_URL, by default
//      https://storage.googleapis.com/tensorflow/tf-keras-datasets/; mnist.npz is checked
//      against Keras' SHA-256, and nothing is kept unless it is whole and checked.
// The first place that exists is loaded; a copy found there but corrupt is an error, not a
// reason to look further, so that a bad file is never silently passed over.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kerosene/tensor.h"

namespace kerosene::datasets {

/// One split of an image-classification dataset, as keras.datasets returns it:
/// x: uint8 images of shape (N, 28, 28); y: uint8 labels of shape (N,).
struct Split {
  Tensor x;
  Tensor y;
  /// Where x and y were read from ("'/data/mnist/t10k-labels-idx1-ubyte.gz'"), for messages
  /// that must name the file; empty for data that came from no file.
  std::string x_source;
  std::string y_source;
};

/// (train, test), so that `auto [train, test] = mnist::load_data();` works.
using TrainTest = std::pair<Split, Split>;

namespace mnist {
/// MNIST digits: 60000 training and 10000 test images, labels 0-9.
/// Throws IOError listing every place looked at and how to get the data when none holds it, or
/// naming the file when one is found but is corrupt; ValueError if image and label counts differ.
TrainTest load_data();
}  // namespace mnist

namespace fashion_mnist {
/// Fashion-MNIST: 60000 training and 10000 test images of clothing, labels 0-9.
/// Throws as mnist::load_data does.
TrainTest load_data();
}  // namespace fashion_mnist

/// Loads the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or with ".gz", from `directory`.
/// Throws IOError naming the file if one is missing, corrupt or truncated, if images are not of
/// rank 3 or labels not of rank 1, or if either is not unsigned bytes; ValueError naming both
/// files and both counts if a split has a different number of images and labels.
TrainTest load_idx_directory(const std::string& directory);

/// Loads "mnist" or "fashion_mnist" (also spelled "fashion-mnist") by the search order above;
/// anything else is taken as a directory (IDX files or one .npz inside) or a .npz file path.
/// Throws as mnist::load_data and load_idx_directory do; ValueError for an unknown name that is
/// no existing path either.
TrainTest load(const std::string& name_or_directory);

/// The places load_data looks, in order, for the dataset `name` (directories, or .npz files),
/// computed from the current environment. Throws ValueError if `name` is not a known dataset.
std::vector<std::string> search_paths(const std::string& name);

}  // namespace kerosene::datasets
