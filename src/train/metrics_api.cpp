// kerosene::metrics: metric objects as the specs compile parses (train/metric_catalog.h).
#include "kerosene/metrics.h"

#include "train/loss_catalog.h"

namespace kerosene::metrics {
namespace {

std::string option(const std::string& key, const std::string& value) { return ":" + key + "=" + value; }
std::string flag(bool b) { return b ? "true" : "false"; }
std::string named(const std::string& name) { return name.empty() ? "" : option("name", name); }

std::string iou_options(const IoUOptions& o) {
  std::string out;
  if (o.ignore_class) out += option("ignore_class", std::to_string(*o.ignore_class));
  return out + named(o.name) + ":object";
}

}  // namespace

std::string TopKCategoricalAccuracy(int k, const std::string& name) {
  return "TopKCategoricalAccuracy" + option("k", std::to_string(k)) + named(name) + ":object";
}
std::string SparseTopKCategoricalAccuracy(int k, const std::string& name) {
  return "SparseTopKCategoricalAccuracy" + option("k", std::to_string(k)) + named(name) + ":object";
}

std::string AUC(const AUCOptions& o) {
  return "AUC" + option("num_thresholds", std::to_string(o.num_thresholds)) + option("curve", o.curve) +
         option("summation_method", o.summation_method) + option("from_logits", flag(o.from_logits)) + named(o.name) +
         ":object";
}

std::string FBetaScore(const FBetaOptions& o) {
  std::string out = "FBetaScore" + option("average", o.average.value_or("None")) + option("beta", train::shortest(o.beta));
  if (o.threshold) out += option("threshold", train::shortest(*o.threshold));
  return out + named(o.name) + ":object";
}

std::string F1Score(std::optional<std::string> average, std::optional<float> threshold, const std::string& name) {
  std::string out = "F1Score" + option("average", average.value_or("None"));
  if (threshold) out += option("threshold", train::shortest(*threshold));
  return out + named(name) + ":object";
}

std::string MeanIoU(int num_classes, const IoUOptions& o) {
  return "MeanIoU" + option("num_classes", std::to_string(num_classes)) + option("sparse_y_true", flag(o.sparse_y_true)) +
         option("sparse_y_pred", flag(o.sparse_y_pred)) + iou_options(o);
}

std::string IoU(int num_classes, const std::vector<int>& target_class_ids, const IoUOptions& o) {
  std::string ids;
  for (int id : target_class_ids) {
    ids += ids.empty() ? "" : ",";
    ids += std::to_string(id);
  }
  return "IoU" + option("num_classes", std::to_string(num_classes)) + option("target_class_ids", ids) +
         option("sparse_y_true", flag(o.sparse_y_true)) + option("sparse_y_pred", flag(o.sparse_y_pred)) +
         iou_options(o);
}

std::string OneHotMeanIoU(int num_classes, std::optional<int> ignore_class, const std::string& name) {
  const std::string head = "OneHotMeanIoU" + option("num_classes", std::to_string(num_classes));
  return head + iou_options({ignore_class, false, false, name});
}

}  // namespace kerosene::metrics
