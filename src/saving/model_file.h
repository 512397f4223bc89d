// Keras 3's model files: the .keras archive, .weights.h5, and the legacy Keras 2 .h5 (read only).
// The public entry points are Sequential::save/save_weights/load_weights and
// models::load_model; the functions here are what callbacks (ModelCheckpoint, BackupAndRestore)
// and the CLI share with them.
#pragma once

#include <string>

#include "io/hdf5_file.h"
#include "kerosene/sequential.h"

namespace kerosene::saving {

/// Writes the weights tree Keras 3 writes (model.weights.h5 / .weights.h5) into `root`:
/// /vars, /layers/<snake_case class>[_N]/vars/<i>, and /optimizer/vars/<i> (iteration,
/// learning rate, then the slots in Keras' order) when the model is compiled and the optimizer
/// has state (`include_optimizer`).
void write_weights(const Model& model, io::H5Group root, bool include_optimizer = true);

/// Reads that tree into `model` (built). Weights must match in count and shape (ValueError naming
/// the layer and both shapes). The optimizer's state is read when the file has it and the model
/// is compiled with an optimizer of the same kind; a count that does not match is skipped with a
/// warning on stderr, as Keras does.
void read_weights(Model& model, const io::H5Group& root);

/// True if the file starts with the HDF5 signature; false for a zip (.keras) or anything else.
bool is_hdf5_file(const std::string& path);

}  // namespace kerosene::saving
