// Where the CLI's models come from: the built-in mlp, cnn and convnet, or a model file (.keras, .h5), and
// the checks that keep a file's model and the data given to it in agreement.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "kerosene/datasets.h"
#include "kerosene/sequential.h"

namespace kerosene::cli {

/// Whether `name` is a model file's name (ends in .keras or .h5) rather than a built-in model's.
bool is_model_file(const std::string& name);

/// For --model: a built-in model ("mlp", "cnn", "convnet") or a model file's name
/// ("expected mlp, cnn, convnet or a model file ...").
const CLI::Validator& model_name();

/// For commands that read a model file: a name ending in .keras or .h5.
const CLI::Validator& model_file_name();

/// Throws IOError naming `path` when it is missing or not a regular file: checked before a
/// dataset is loaded, so a typo costs no time.
void require_file(const std::string& path, const char* what);

/// models::load_model(path, compile), after require_file.
Model load_model_file(const std::string& path, bool compile);

/// The built-in model built (cli/models.h), or the file loaded (compiled when the file says so).
Model model_from(const std::string& name);

/// Whether the model has a loss and optimizer (from compile, or from its file).
bool is_compiled(const Model& model);

/// The number of classes the model's last layer gives (its output's last dimension).
int64_t classes_of(const Model& model);

/// `x` (one row per sample) shaped for the model's input: the same values, reshaped when only
/// the layout differs ((N, 28, 28) for an input of (28, 28, 1) or (784,)). Throws ValueError
/// naming `model_source`, `data_source` and both shapes when a sample does not fit.
Tensor fit_to_input(const Model& model, const Tensor& x, const std::string& model_source,
                    const std::string& data_source);

/// Checks a split before the run depends on it: not empty, and every label one of the model's
/// `classes`. Throws ValueError naming the split and its file.
void check_split(const datasets::Split& split, const char* name, int64_t classes);

/// The accuracy among `result`'s metrics: "accuracy", else the first whose name has "acc" (a
/// file's model may say "sparse_categorical_accuracy" or "acc"); NaN when it has none.
double accuracy_of(const EvaluateResult& result);

}  // namespace kerosene::cli
