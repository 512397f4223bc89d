// Layers to and from Keras 3's config JSON. Each layer class kerosene has is one codec here: the
// keys Keras writes for it, in Keras' order, and the keys it reads back. What a codec writes
// loads in every Keras 3.x (no key newer than 3.0); what it reads is any 3.x config, and the
// legacy Keras 2 form (no "module", "batch_input_shape" on the first layer).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "kerosene/shape.h"
#include "nn/layer.h"
#include "saving/activation_codecs.h"
#include "saving/config_fields.h"

namespace kerosene::saving {

/// Keras' snake_case of a class name (keras.src.utils.naming.to_snake_case): "Conv2D" ->
/// "conv2d", "MaxPooling2D" -> "max_pooling2d"; the names of the weights file's groups.
std::string snake_case(const std::string& class_name);

/// {"module", "class_name", "config", "registered_name", "build_config"} of a built layer.
ordered_json layer_envelope(const nn::Layer& layer);
/// The InputLayer envelope of a Sequential model with per-sample input `shape`.
ordered_json input_layer_envelope(const Shape& shape, const std::string& name);

struct DecodedLayer {
  std::shared_ptr<nn::Layer> layer;  ///< null for an InputLayer
  std::optional<Shape> input_shape;  ///< an InputLayer's shape, or a legacy batch_input_shape
};

/// A layer from its envelope, written by `generation`. `file` names the file in errors. Throws
/// ValueError naming the file, the layer and the option for a class or option kerosene does not
/// support.
DecodedLayer decode_layer(const json& envelope, const std::string& file,
                          KerasGeneration generation = KerasGeneration::keras3);

}  // namespace kerosene::saving
