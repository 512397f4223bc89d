// Metrics in a compile config as Keras writes them: a name when compile was given a bare name,
// else the metric object ({"module": "keras.metrics", "class_name": "AUC", "config": {...}}).
#pragma once

#include <string>

#include "saving/config_fields.h"
#include "train/model_state.h"

namespace kerosene::saving {

ordered_json metric_json(const train::MetricConfig& metric);
/// A Keras metric object of a class kerosene counts (top-k, AUC, F-beta, IoU) as the spec
/// compile takes; nullopt for the other classes. Throws ValueError naming the file and the
/// option kerosene does not support.
std::optional<std::string> decode_counting_metric(const json& object, const std::string& file);

}  // namespace kerosene::saving
