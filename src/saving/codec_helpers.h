// What the layer codecs share (layer_codecs.cpp), and the codecs kept in files of their own.
#pragma once

#include <memory>
#include <string>

#include "nn/layer.h"
#include "saving/config_fields.h"

namespace kerosene::nn {
class BatchNormalization;
class LayerNormalization;
}  // namespace kerosene::nn

namespace kerosene::saving {

/// Keras' envelope of one of kerosene's initializers ("zeros" -> {"class_name": "Zeros", ...}).
ordered_json initializer_envelope(const std::string& name);
/// kerosene's name of the initializer at `key`: a string, an envelope or a legacy {class_name}.
std::string read_initializer(ConfigFields& f, const std::string& key);
/// The keys every layer config starts with: name, trainable, dtype.
ordered_json base_config(const nn::Layer& layer);

// normalization_codecs.cpp
ordered_json batch_normalization_config(const nn::BatchNormalization& layer);
std::shared_ptr<nn::Layer> batch_normalization_from(ConfigFields& f, const std::string& name);
ordered_json layer_normalization_config(const nn::LayerNormalization& layer);
std::shared_ptr<nn::Layer> layer_normalization_from(ConfigFields& f, const std::string& name);

}  // namespace kerosene::saving
