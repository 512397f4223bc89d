// What the MNIST and the CIFAR loaders share: the places of the search order in
// kerosene/datasets.h, and the entry points of the CIFAR loader (data/cifar_datasets.cpp).
#pragma once

#include <string>
#include <vector>

#include "kerosene/datasets.h"

namespace kerosene::datasets::detail {

/// Keras' cache root: $KERAS_HOME, else ~/.keras, where ~ is $HOME or, as Python's expanduser
/// does, the password database's home directory. Empty when there is no home directory.
std::string keras_home();

/// Where system packages put datasets: $KEROSENE_SYSTEM_DATASETS, else /usr/share/datasets.
std::string system_datasets();

/// Where to download from: $KEROSENE_DATASETS_URL (a mirror), else `keras_url`; ends in '/'.
std::string download_base(const std::string& keras_url);

/// Whether `name` is "cifar10" or "cifar100".
bool is_cifar(const std::string& name);

/// search_paths() for "cifar10" and "cifar100".
std::vector<std::string> cifar_search_paths(const std::string& name);

/// Loads "cifar10" or "cifar100" (label_mode "fine" or "coarse") by the search order.
TrainTest load_cifar(const std::string& name, const std::string& label_mode);

}  // namespace kerosene::datasets::detail
