// Models from files: Keras 3's keras.models.load_model and model_from_json.
#pragma once

#include <string>

#include "kerosene/model.h"

namespace kerosene::models {

/// Reads a model (Sequential or Functional) saved by Model::save or by Keras 3 (`model.save("m.keras")`, any 3.x), or
/// a legacy Keras 2 / tf.keras .h5 model file. The model comes back built, with its weights,
/// and, when the file says it was compiled and `compile` is true, compiled with its optimizer's
/// state, so fit continues where it stopped.
/// Throws IOError naming the file when it is missing, truncated, corrupt or not a model file, and
/// ValueError naming the layer, the option and the file for what kerosene does not support.
Model load_model(const std::string& filepath, bool compile = true);

/// A model (built when the config says its input shape, uncompiled, freshly initialized) from
/// the JSON of Keras 3's model.to_json() or Sequential::to_json().
Model model_from_json(const std::string& json);

}  // namespace kerosene::models
