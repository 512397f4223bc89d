// Keras 2 / tf.keras "legacy" .h5 model and weights files (keras-formats.md section 1.5), read
// only: root attributes model_config / training_config (JSON), group model_weights with
// layer_names and per-layer weight_names. Keras 3's own .h5 output has the same layout (weight
// names without ":0").
#pragma once

#include <string>

#include "io/hdf5_file.h"
#include "kerosene/sequential.h"

namespace kerosene::saving {

/// Whether `root` is a legacy file: a model_weights group, or layer_names at the root (the
/// weights-only form of model.save_weights("w.h5") in Keras 2).
bool is_legacy_h5(const io::H5Group& root);
/// Layer by layer, in order: the file's layers with weights against the model's layers with
/// weights, as Keras 2 loads them (by position, not by name).
void read_legacy_weights(Model& model, const io::H5Group& root);
/// The model from model_config, compiled from training_config when `compile` (a training config
/// kerosene cannot follow is a warning and an uncompiled model, as in Keras), with its weights.
Model load_legacy_model(const std::string& path, bool compile);

}  // namespace kerosene::saving
