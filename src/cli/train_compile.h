// `kerosene train`'s compile: the optimizer (--optimizer, --learning-rate, --lr-schedule,
// --clipnorm, --clipvalue, --global-clipnorm), the loss (--loss) and the metrics (--metrics), as
// Keras' compile takes them, and the targets the dataset's class labels become for that loss.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/train_command.h"
#include "kerosene/model.h"

namespace kerosene::cli {

/// Adds --loss, --metrics, --lr-schedule, --clipnorm, --clipvalue and --global-clipnorm.
void add_compile_options(CLI::App& train, TrainArgs& args);

/// Compiles `model` for the run. A compiled model file keeps its compile config unless a flag
/// asks for another: then what is not given is the file's (its optimizer, state included, when
/// no optimizer flag is given), else Keras' MNIST defaults (adam, sparse_categorical_crossentropy,
/// accuracy). Throws ValueError for a loss that cannot take the dataset's class labels on the
/// model's output, naming both.
void compile_for_training(Model& model, const TrainArgs& args);

/// How many classes the labels may name: the output's units, or 2 (labels 0 and 1) for one unit
/// under a loss other than sparse_categorical_crossentropy.
int64_t label_classes(const Model& model);

/// The class labels (one per sample) as the compiled loss takes them: as they are for
/// sparse_categorical_crossentropy; one-hot (keras.utils.to_categorical) for the losses that
/// compare the output with a target of its shape; as 0/1 values for an output of one unit.
Tensor targets_for(const Model& model, const Tensor& labels);

}  // namespace kerosene::cli
