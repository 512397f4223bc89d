// Loss objects with options, as Keras' keras.losses classes: each returns the loss as compile
// takes it (compile(opt, losses::Huber(2.0)), CompileOptions::loss entries). A loss given this
// way is saved in the compile config as Keras writes a loss object
// ({"module": "keras.losses", "class_name": "Huber", "config": {...}}).
//
// The same losses by name: "mean_absolute_error"/"mae", "mean_squared_error"/"mse", "huber",
// "log_cosh", "mean_squared_logarithmic_error"/"msle", "kl_divergence"/"kld", "poisson",
// "hinge", "squared_hinge", "cosine_similarity", "binary_crossentropy",
// "categorical_crossentropy", "sparse_categorical_crossentropy"; a name may carry options
// written "name:option=value" (":from_logits", ":label_smoothing=0.1", ":delta=2",
// ":reduction=sum").
#pragma once

#include <string>

namespace kerosene::losses {

/// Keras' reductions that fit can minimise: the mean over the batch's samples (the default),
/// or their sum. ("none" leaves one loss per sample, which fit cannot take.)
enum class Reduction { sum_over_batch_size, sum };

struct CrossentropyOptions {
  bool from_logits = false;
  /// Categorical: targets t become t (1 - s) + s / classes; binary: t (1 - s) + s / 2.
  float label_smoothing = 0.0f;
  Reduction reduction = Reduction::sum_over_batch_size;
};

std::string SparseCategoricalCrossentropy(bool from_logits = false, Reduction reduction = Reduction::sum_over_batch_size);
std::string CategoricalCrossentropy(const CrossentropyOptions& options = {});
std::string BinaryCrossentropy(const CrossentropyOptions& options = {});
std::string MeanSquaredError(Reduction reduction = Reduction::sum_over_batch_size);
std::string MeanAbsoluteError(Reduction reduction = Reduction::sum_over_batch_size);
/// 0.5 e^2 where |e| <= delta, delta (|e| - delta / 2) beyond.
std::string Huber(float delta = 1.0f, Reduction reduction = Reduction::sum_over_batch_size);
std::string LogCosh(Reduction reduction = Reduction::sum_over_batch_size);
std::string MeanSquaredLogarithmicError(Reduction reduction = Reduction::sum_over_batch_size);
std::string KLDivergence(Reduction reduction = Reduction::sum_over_batch_size);
std::string Poisson(Reduction reduction = Reduction::sum_over_batch_size);
/// Targets -1/1, or 0/1 (a 0 counts as -1).
std::string Hinge(Reduction reduction = Reduction::sum_over_batch_size);
std::string SquaredHinge(Reduction reduction = Reduction::sum_over_batch_size);
/// Over the last axis: -sum(t/|t| * p/|p|).
std::string CosineSimilarity(Reduction reduction = Reduction::sum_over_batch_size);

}  // namespace kerosene::losses
