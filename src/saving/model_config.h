// A model's Keras 3 config (config.json, model.to_json()) and compile config, to and
// from JSON, and the same for the legacy Keras 2 .h5 attributes (read only).
#pragma once

#include <optional>
#include <string>

#include "kerosene/sequential.h"
#include "saving/config_fields.h"

namespace kerosene::saving {

/// The model's envelope: {"module": "keras", "class_name": "Sequential", "config": {...},
/// "registered_name": null, "build_config": ..., "compile_config": ... (when compiled)}.
ordered_json model_envelope(const Model& model);

/// A new model from a model envelope (Keras 3) or {"class_name": "Sequential", "config": ...}
/// (Keras 2): layers made, built when the input shape is known, not compiled. `file` names the
/// source in errors. `keras_version` (a legacy .h5 file's attribute; else the envelope's own
/// "keras_version", which Keras 2's to_json writes) says whether Keras 2 wrote it.
Model decode_model(const json& envelope, const std::string& file,
                   const std::optional<std::string>& keras_version = std::nullopt);

/// Compiles `model` from a Keras 3 compile_config or a Keras 2 training_config (legacy: true).
/// Throws ValueError naming the file and the option kerosene does not support.
void compile_from_config(Model& model, const json& compile_config, const std::string& file, bool legacy);

}  // namespace kerosene::saving
