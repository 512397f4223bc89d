// Metric objects with options, as Keras' keras.metrics classes: each returns the metric as
// compile takes it, next to the names ("accuracy", "auc", ...):
//
//   model.compile(optimizers::Adam(), "categorical_crossentropy",
//                 {"accuracy", metrics::AUC({.num_thresholds = 50}), metrics::TopKCategoricalAccuracy(3)});
//
// A metric given this way is saved in the compile config as Keras writes a metric object
// ({"module": "keras.metrics", "class_name": "AUC", "config": {...}}). The logs show it under
// its name (Keras' default unless one is given); two of one class in one compile are named as
// Keras names them, "auc", "auc_1", ...
//
// The same metrics by name, each with Keras' defaults: "top_k_categorical_accuracy",
// "sparse_top_k_categorical_accuracy", "auc"; a name may carry options written
// "name:option=value" ("auc:curve=PR", "f1_score:average=macro", "mean_io_u:num_classes=3").
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kerosene::metrics {

/// How often the label is among the k largest predictions (targets one-hot).
std::string TopKCategoricalAccuracy(int k = 5, const std::string& name = "top_k_categorical_accuracy");
/// The same with integer class ids as targets.
std::string SparseTopKCategoricalAccuracy(int k = 5, const std::string& name = "sparse_top_k_categorical_accuracy");

struct AUCOptions {
  /// Thresholds -epsilon, 1/(n-1), ..., (n-2)/(n-1), 1 + epsilon, as Keras places them; n > 1.
  int num_thresholds = 200;
  std::string curve = "ROC";                       ///< "ROC" or "PR"
  std::string summation_method = "interpolation";  ///< "interpolation", "minoring" or "majoring"
  std::string name = "auc";
  bool from_logits = false;  ///< predictions are logits: a sigmoid first
};
/// Area under the ROC or precision-recall curve, every prediction of the batch one example
/// (Keras' multi_label=false); targets are 0 (negative) or anything else (positive).
std::string AUC(const AUCOptions& options = {});

struct FBetaOptions {
  /// "micro" (counts over every class), "macro" (the classes' mean) or "weighted" (weighted by
  /// each class's label count). Keras' default, none, gives one score per class, which the
  /// logs cannot hold: compile refuses it.
  std::optional<std::string> average{};
  float beta = 1.0f;
  /// A prediction above it is positive; none: the row's largest prediction is.
  std::optional<float> threshold{};
  std::string name = "fbeta_score";
};
std::string FBetaScore(const FBetaOptions& options);
/// FBetaScore with beta 1, named "f1_score".
std::string F1Score(std::optional<std::string> average, std::optional<float> threshold = std::nullopt,
                    const std::string& name = "f1_score");

struct IoUOptions {
  std::optional<int> ignore_class{};  ///< labels equal to it are left out
  bool sparse_y_true = true;          ///< targets are class ids, else one-hot rows (argmax)
  bool sparse_y_pred = true;          ///< predictions are class ids, else rows (argmax)
  std::string name{};                 ///< empty: Keras' default for the class
};
/// Intersection over union averaged over every class that occurs: TP / (TP + FP + FN) from the
/// confusion matrix summed over the batches.
std::string MeanIoU(int num_classes, const IoUOptions& options = {});
/// The same over the classes target_class_ids.
std::string IoU(int num_classes, const std::vector<int>& target_class_ids, const IoUOptions& options = {});
/// MeanIoU for one-hot targets and predicted probabilities (sparse_y_true/pred false).
std::string OneHotMeanIoU(int num_classes, std::optional<int> ignore_class = std::nullopt,
                          const std::string& name = "one_hot_mean_io_u");

}  // namespace kerosene::metrics
