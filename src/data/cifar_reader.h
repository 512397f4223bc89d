// CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html) in each form they are
// distributed and kept in: the python version (pickled batches, data/pickle_reader.h) and the
// binary version (fixed-size records), each extracted or as its .tar.gz. Loaded as
// keras.datasets.cifar10/cifar100 returns them: x uint8 of shape (N, 32, 32, 3), channels last
// (the files hold each image as three 32x32 planes); y uint8 of shape (N, 1).
#pragma once

#include <optional>
#include <string>

#include "kerosene/datasets.h"

namespace kerosene::data {

/// Which CIFAR, and for CIFAR-100 which labels.
struct CifarKind {
  bool hundred = false;  ///< CIFAR-100 rather than CIFAR-10
  bool coarse = false;   ///< CIFAR-100's 20 superclasses rather than its 100 classes
};

/// "CIFAR-10" or "CIFAR-100".
std::string cifar_title(const CifarKind& kind);

/// Loads CIFAR from `place`, which is one of:
///  - a directory holding the batches of either version: CIFAR-10's data_batch_1 to data_batch_5
///    and test_batch (or the same with .bin), CIFAR-100's train and test (or train.bin, test.bin);
///  - a directory holding such a directory as its tarball extracts it (cifar-10-batches-py/,
///    cifar-10-batches-bin/, cifar-100-python/, cifar-100-binary/), or the tarball itself
///    (cifar-10-python.tar.gz, cifar-10-binary.tar.gz, cifar-100-python.tar.gz,
///    cifar-100-binary.tar.gz);
///  - a tarball of any name (Keras keeps its download as cifar-10-batches-py-target_archive).
/// Returns nothing, with the reason in *why, when `place` is none of these. Throws IOError naming
/// the file when a batch is missing, cut short, not whole records, a corrupt pickle or tar, or
/// holds a label out of range.
std::optional<datasets::TrainTest> load_cifar(const std::string& place, const CifarKind& kind, std::string* why);

}  // namespace kerosene::data
