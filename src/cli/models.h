// The classic Keras MNIST models the CLI trains.
#pragma once

#include <string>

#include "kerosene/sequential.h"

namespace kerosene::cli {

/// "mlp": Flatten, Dense(128, relu), Dense(10, softmax).
/// "cnn": Conv2D(32, 3x3, relu), MaxPooling2D(2x2), Flatten, Dense(10, softmax).
/// Input (28, 28, 1). Throws ValueError for another name.
Sequential build_model(const std::string& name);

}  // namespace kerosene::cli
