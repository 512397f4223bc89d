// Keras 3's metrics as kerosene knows them: names, classes and options, read by compile (the
// names and "name:option=value" specs it takes, kerosene/metrics.h's objects) and by the
// compile config (Keras' metric objects).
#pragma once

#include <string>

#include "train/model_state.h"

namespace kerosene::train {

/// Parses a metric as compile takes it: a Keras name or class ("accuracy", "auc", "AUC",
/// "sparse_top_k_categorical_accuracy") followed by options, each ":option=value" (k=3,
/// num_thresholds=50, curve=PR, summation_method=minoring, from_logits, average=macro, beta=2,
/// threshold=0.5, num_classes=3, target_class_ids=0;2, ignore_class=255, sparse_y_true=false,
/// sparse_y_pred=false, name=my_auc; ":object" marks a metric object). `loss` and
/// `output_units` resolve "accuracy" as Keras does. Throws ValueError naming the metric and the
/// option on anything else.
MetricConfig parse_metric_spec(const std::string& spec, const LossConfig& loss, int64_t output_units);

/// The spec a MetricConfig is compiled from again (parse_metric_spec's inverse).
std::string metric_spec(const MetricConfig& metric);

}  // namespace kerosene::train
