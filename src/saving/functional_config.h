// A Functional model's Keras 3 config: its layers, each with the calls that feed it
// ("inbound_nodes"), and its input and output tensors; both ways. Also reads Keras 2's form.
#pragma once

#include <string>

#include "kerosene/model.h"
#include "saving/config_fields.h"
#include "saving/layer_codecs.h"

namespace kerosene::saving {

/// {"name", "trainable", "layers", "input_layers", "output_layers"} of a Functional model.
ordered_json functional_config(const Model& model);
/// A new Functional model from that config (Keras 3's or Keras 2's). `file` names the source.
Model decode_functional(const json& config, const std::string& file, KerasGeneration generation);

}  // namespace kerosene::saving
