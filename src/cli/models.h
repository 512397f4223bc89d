// The classic Keras MNIST models the CLI trains.
#pragma once

#include <string>

#include "kerosene/sequential.h"

namespace kerosene::cli {

/// The built-in models' names, as the help and error messages list them: "mlp, cnn, convnet".
const std::string& built_in_model_names();

/// Whether `name` is one of the built-in models.
bool is_built_in_model(const std::string& name);

/// "mlp": Flatten, Dense(128, relu), Dense(10, softmax).
/// "cnn": Conv2D(32, 3x3, relu), MaxPooling2D(2x2), Flatten, Dense(10, softmax).
/// "convnet": Keras' MNIST convnet example (keras.io/examples/vision/mnist_convnet):
///   Conv2D(32, 3x3, relu), MaxPooling2D(2x2), Conv2D(64, 3x3, relu), MaxPooling2D(2x2), Flatten,
///   Dropout(0.5), Dense(10, softmax); 34,826 parameters.
/// Input (28, 28, 1). Throws ValueError for another name.
Sequential build_model(const std::string& name);

}  // namespace kerosene::cli
