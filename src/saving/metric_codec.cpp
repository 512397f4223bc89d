#include "saving/metric_codec.h"

#include "kerosene/error.h"
#include "train/loss_catalog.h"
#include "train/metric_catalog.h"

namespace kerosene::saving {
namespace {

bool is_counting_class(const std::string& c) {
  return c == "TopKCategoricalAccuracy" || c == "SparseTopKCategoricalAccuracy" || c == "AUC" || c == "F1Score" ||
         c == "FBetaScore" || c == "MeanIoU" || c == "IoU" || c == "OneHotMeanIoU" || c == "OneHotIoU";
}

json optional_int(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

// The fields and their order are Keras 3's get_config of each class.
ordered_json metric_json(const train::MetricConfig& m) {
  if (!m.counts || !m.as_object) return m.name;
  const train::MetricParams& p = m.params;
  const std::string& c = m.keras_class;
  ordered_json cfg;
  const bool iou = c.find("IoU") != std::string::npos;
  if (iou && c != "IoU") cfg["num_classes"] = p.num_classes;  // first, as those classes write it
  if (c == "OneHotIoU") cfg["target_class_ids"] = p.target_class_ids;
  cfg["name"] = m.name;
  cfg["dtype"] = iou ? "int32" : "float32";
  if (c == "TopKCategoricalAccuracy" || c == "SparseTopKCategoricalAccuracy") cfg["k"] = p.k;
  if (c == "AUC") {
    cfg["num_thresholds"] = p.num_thresholds;
    cfg["curve"] = p.curve;
    cfg["summation_method"] = p.summation_method;
    cfg["multi_label"] = false;
    cfg["num_labels"] = nullptr;
    cfg["label_weights"] = nullptr;
    cfg["from_logits"] = p.from_logits;
  }
  if (c == "F1Score" || c == "FBetaScore") {
    cfg["average"] = p.average;
    if (c == "FBetaScore") cfg["beta"] = train::as_written(p.beta);
    cfg["threshold"] = p.threshold ? json(train::as_written(*p.threshold)) : json(nullptr);
  }
  if (iou) {
    if (c == "IoU") {
      cfg["num_classes"] = p.num_classes;
      cfg["target_class_ids"] = p.target_class_ids;
    }
    cfg["ignore_class"] = optional_int(p.ignore_class);
    if (c.find("OneHot") == std::string::npos) cfg["sparse_y_true"] = p.sparse_y_true;
    cfg["sparse_y_pred"] = p.sparse_y_pred;
    cfg["axis"] = -1;
  }
  return keras_envelope("keras.metrics", c, std::move(cfg));
}

std::optional<std::string> decode_counting_metric(const json& v, const std::string& file) {
  const std::string c = v.value("class_name", "");
  if (!is_counting_class(c)) return std::nullopt;
  static const json empty = json::object();
  ConfigFields f(v.contains("config") && v["config"].is_object() ? v["config"] : empty,
                 file + ": compile config: metric " + c);
  std::string spec = c;
  auto add = [&](const std::string& key, const std::string& value) { spec += ":" + key + "=" + value; };
  for (const char* key : {"k", "num_thresholds", "num_classes", "ignore_class"}) {
    if (f.has(key) && !f.raw(key).is_null()) add(key, std::to_string(f.integer(key)));
  }
  for (const char* key : {"curve", "summation_method", "name"}) {
    if (f.has(key)) add(key, f.string(key));
  }
  const bool one_hot = c.rfind("OneHot", 0) == 0;  // its class fixes sparse_y_true/pred to false
  for (const char* key : {"from_logits", "sparse_y_true", "sparse_y_pred"}) {
    if (one_hot && key != std::string("from_logits")) {
      f.require_default(key, false);
    } else if (f.has(key)) {
      add(key, f.boolean(key) ? "true" : "false");
    }
  }
  for (const char* key : {"beta", "threshold"}) {
    if (f.has(key) && !f.raw(key).is_null()) add(key, train::shortest(static_cast<float>(f.number(key))));
  }
  if (f.has("average")) add("average", f.raw("average").is_null() ? "None" : f.string("average"));
  if (f.has("target_class_ids")) {
    std::string ids;
    for (int64_t id : f.integers("target_class_ids", f.raw("target_class_ids").size())) {
      ids += ids.empty() ? "" : ",";
      ids += std::to_string(id);
    }
    add("target_class_ids", ids);
  }
  f.require_default("multi_label", false);
  f.require_default("num_labels");
  f.require_default("label_weights");
  f.require_default("axis", -1);
  f.ignore({"dtype"});
  f.finish();
  return spec + ":object";
}

}  // namespace kerosene::saving
