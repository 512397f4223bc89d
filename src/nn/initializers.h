// Keras' weight initializers, drawn on the host from the model's seeded generator.
#pragma once

#include <random>
#include <string>

#include "kerosene/tensor.h"

namespace kerosene::nn {

/// "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "zeros", "ones".
/// fan_in/fan_out as Keras computes them (Conv2D: kernel area times channels).
/// Throws ValueError listing the known names.
Tensor initialize(const std::string& name, const Shape& shape, int64_t fan_in, int64_t fan_out,
                  const Device& device, std::mt19937_64& rng);

}  // namespace kerosene::nn
