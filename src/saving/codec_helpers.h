// What the layer codecs share (layer_codecs.cpp), and the codecs kept in files of their own.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nn/layer.h"
#include "saving/activation_codecs.h"
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
/// "valid" or "same" at "padding" ("valid" when absent).
std::string read_padding(ConfigFields& f);
/// Fails unless "data_format" is absent, null or "channels_last".
void read_channels_last(ConfigFields& f);
/// Two positive sizes at `key`: [h, w] or one int for both; `fallback` when absent.
std::pair<int, int> read_pair(ConfigFields& f, const std::string& key,
                              std::optional<std::vector<int64_t>> fallback = std::nullopt);

// depthwise_codecs.cpp: DepthwiseConv2D and SeparableConv2D. The config of `layer` when it is
// one of them, else nothing; the layer of `class_name` when it is one of them, else null.
std::optional<ordered_json> depthwise_family_config(const nn::Layer& layer);
std::shared_ptr<nn::Layer> depthwise_family_from(ConfigFields& f, const std::string& class_name,
                                                 const std::string& name, KerasGeneration generation);

// normalization_codecs.cpp
ordered_json batch_normalization_config(const nn::BatchNormalization& layer);
std::shared_ptr<nn::Layer> batch_normalization_from(ConfigFields& f, const std::string& name);
ordered_json layer_normalization_config(const nn::LayerNormalization& layer);
std::shared_ptr<nn::Layer> layer_normalization_from(ConfigFields& f, const std::string& name);

}  // namespace kerosene::saving
