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
//
// For "cifar10" and "cifar100", either version (python or binary), extracted or as its tarball:
//   1. $KEROSENE_DATASETS/<name>/ holding the batches of the python version (data_batch_1 to
//      data_batch_5 and test_batch; CIFAR-100's train and test) or of the binary version (the
//      same with .bin), or the directory its tarball extracts to (cifar-10-batches-py/,
//      cifar-10-batches-bin/, cifar-100-python/, cifar-100-binary/), or the tarball itself
//      (cifar-10-python.tar.gz, cifar-10-binary.tar.gz, cifar-100-...) as the CIFAR site has it.
//   2. Keras' cache, in each layout keras.datasets has used: <dir>-target/<dir>/ (Keras 3),
//      <dir>/ (tf.keras, early Keras 3), then the tarballs <dir>-target_archive, <dir>_archive,
//      <dir>.tar.gz and the site's name, where <dir> is cifar-10-batches-py or cifar-100-python.
//   3. /usr/share/datasets/<name>/ (or $KEROSENE_SYSTEM_DATASETS/<name>/), as in 1.
//   4. Otherwise a download of the python version's tarball from the CIFAR site
//      (https://www.cs.toronto.edu/~kriz/, or $KEROSENE_DATASETS_URL) into Keras' cache as
//      <dir>-target_archive, checked against Keras' SHA-256, and read without extracting it.
// The first place that exists is loaded; a copy found there but corrupt is an error, not a
// reason to look further, so that a bad file is never silently passed over.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kerosene/tensor.h"

namespace kerosene::datasets {

/// One split of an image-classification dataset, as keras.datasets returns it:
/// x: uint8 images of shape (N, 28, 28) for MNIST, (N, 32, 32, 3) channels last for CIFAR;
/// y: uint8 labels of shape (N,) for MNIST, (N, 1) for CIFAR.
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

namespace cifar10 {
/// CIFAR-10: 50000 training and 10000 test 32x32 colour images, labels 0-9 (airplane,
/// automobile, bird, cat, deer, dog, frog, horse, ship, truck). x is uint8 of shape
/// (N, 32, 32, 3), channels last (the files hold channels first; Keras transposes them too);
/// y is uint8 of shape (N, 1), as Keras returns it. Throws as mnist::load_data does, and IOError
/// naming the file for a label out of range.
TrainTest load_data();
}  // namespace cifar10

namespace cifar100 {
/// CIFAR-100: 50000 training and 10000 test 32x32 colour images; `label_mode` "fine" gives the
/// 100 classes (0-99), "coarse" the 20 superclasses (0-19). Shapes as cifar10::load_data; y is
/// uint8, where Keras gives int64 for CIFAR-100 (every label fits, and it matches CIFAR-10's).
/// Throws ValueError for another label_mode, else as cifar10::load_data does.
TrainTest load_data(const std::string& label_mode = "fine");
}  // namespace cifar100

/// Loads the four IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or with ".gz", from `directory`.
/// Throws IOError naming the file if one is missing, corrupt or truncated, if images are not of
/// rank 3 or labels not of rank 1, or if either is not unsigned bytes; ValueError naming both
/// files and both counts if a split has a different number of images and labels.
TrainTest load_idx_directory(const std::string& directory);

/// Loads "mnist", "fashion_mnist" (also spelled "fashion-mnist"), "cifar10" or "cifar100" (fine
/// labels) by the search order above;
/// anything else is taken as a directory (IDX files or one .npz inside) or a .npz file path.
/// Throws as mnist::load_data and load_idx_directory do; ValueError for an unknown name that is
/// no existing path either.
TrainTest load(const std::string& name_or_directory);

/// The places load_data looks, in order, for the dataset `name` (directories, .npz files or
/// CIFAR tarballs), computed from the current environment. Throws ValueError if `name` is not a
/// known dataset.
std::vector<std::string> search_paths(const std::string& name);

}  // namespace kerosene::datasets
