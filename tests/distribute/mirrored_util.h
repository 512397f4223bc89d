// What the MirroredStrategy tests share: logical CPU devices, a mirrored twin of a model built on
// one device, and the distance between two models' weights.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "kerosene/kerosene.h"

namespace kerosene::test_util {

/// Splits the first physical CPU into `n` logical devices (before the runtime starts).
inline void split_cpu(int n) {
  config::set_logical_device_configuration(config::list_physical_devices("CPU").at(0),
                                           std::vector<config::LogicalDeviceConfiguration>(static_cast<size_t>(n)));
}

/// `make()` built under `strategy`'s scope (so mirrored), starting from `weights`.
inline Sequential mirrored_twin(distribute::MirroredStrategy& strategy, const std::function<Sequential()>& make,
                                const std::vector<Tensor>& weights) {
  Sequential model = [&] {
    auto scope = strategy.scope();
    return make();
  }();
  model.set_weights(weights);
  return model;
}

/// The largest absolute difference between corresponding values of two lists of tensors.
inline double max_difference(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto va = a[i].to_vector<float>(), vb = b[i].to_vector<float>();
    for (size_t j = 0; j < va.size(); ++j) worst = std::max(worst, static_cast<double>(std::fabs(va[j] - vb[j])));
  }
  return worst;
}

}  // namespace kerosene::test_util
