#include "train/metric_catalog.h"

#include <cmath>
#include <cstdlib>
#include <limits>
#include <utility>
#include <vector>

#include "kerosene/error.h"
#include "train/loss_catalog.h"

namespace kerosene::train {
namespace {

using backends::LossKind;
using backends::MetricCountKind;
using backends::MetricKind;

// The metrics that keep counts: Keras' default name (its class's to_snake_case, or the name its
// __init__ gives), its class, and the family that says which options apply.
enum class Family { top_k, sparse_top_k, auc, f_beta, iou };
struct CountingMetric {
  const char* name;
  const char* keras_class;
  Family family;
  bool one_hot = false;  // OneHot*IoU: both y_true and y_pred are one-hot rows
  bool mean = true;      // MeanIoU (every class), not IoU (target_class_ids)
  bool f1 = false;       // F1Score: beta is 1
};

const std::vector<CountingMetric>& counting_metrics() {
  static const std::vector<CountingMetric> table = {
      {"top_k_categorical_accuracy", "TopKCategoricalAccuracy", Family::top_k},
      {"sparse_top_k_categorical_accuracy", "SparseTopKCategoricalAccuracy", Family::sparse_top_k},
      {"auc", "AUC", Family::auc},
      {"f1_score", "F1Score", Family::f_beta, false, true, true},
      {"fbeta_score", "FBetaScore", Family::f_beta},
      {"mean_io_u", "MeanIoU", Family::iou},
      {"io_u", "IoU", Family::iou, false, false},
      {"one_hot_mean_io_u", "OneHotMeanIoU", Family::iou, true},
      {"one_hot_io_u", "OneHotIoU", Family::iou, true, false},
  };
  return table;
}

const CountingMetric* find_counting(const std::string& name) {
  for (const auto& m : counting_metrics()) {
    if (name == m.name || name == m.keras_class) return &m;
  }
  if (name == "f_beta_score") return &counting_metrics()[4];  // FBetaScore's to_snake_case
  return nullptr;
}

const char* const kNames =
    "accuracy, sparse_categorical_accuracy, categorical_accuracy, binary_accuracy, mae (mean_absolute_error), "
    "mse (mean_squared_error), root_mean_squared_error (Keras has no \"rmse\"), precision, recall, "
    "top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, auc, f1_score, fbeta_score, mean_io_u, io_u, "
    "one_hot_mean_io_u, one_hot_io_u";

// The metrics that keep per-sample slots: by Keras' name, no options.
MetricConfig slot_metric(const std::string& m, const LossConfig& loss, int64_t output_units) {
  auto of = [&](std::vector<MetricKind> slots, MetricResult result) {
    MetricConfig c;
    c.slots = std::move(slots);
    c.name = m;
    c.result = result;
    return c;
  };
  auto mean_of = [&](MetricKind kind) { return of({kind}, MetricResult::mean); };
  if (m == "accuracy" || m == "acc") {
    // Keras resolves "accuracy" from the loss.
    switch (loss.kind) {
      case LossKind::sparse_categorical_crossentropy: return mean_of(MetricKind::sparse_categorical_accuracy);
      case LossKind::categorical_crossentropy: return mean_of(MetricKind::categorical_accuracy);
      case LossKind::binary_crossentropy: return mean_of(MetricKind::binary_accuracy);
      default: return mean_of(output_units > 1 ? MetricKind::categorical_accuracy : MetricKind::binary_accuracy);
    }
  }
  if (m == "sparse_categorical_accuracy") return mean_of(MetricKind::sparse_categorical_accuracy);
  if (m == "categorical_accuracy") return mean_of(MetricKind::categorical_accuracy);
  if (m == "binary_accuracy") return mean_of(MetricKind::binary_accuracy);
  if (m == "mae" || m == "mean_absolute_error") return mean_of(MetricKind::mean_absolute_error);
  if (m == "mse" || m == "mean_squared_error") return mean_of(MetricKind::mean_squared_error);
  if (m == "root_mean_squared_error") {
    // The mean of the squared errors over all elements (every row has as many), then its root.
    return of({MetricKind::mean_squared_error}, MetricResult::root_mean);
  }
  // Keras' Precision and Recall at threshold 0.5: ratios of confusion counts summed over the epoch.
  if (m == "precision") return of({MetricKind::true_positives, MetricKind::predicted_positives}, MetricResult::ratio);
  if (m == "recall") return of({MetricKind::true_positives, MetricKind::actual_positives}, MetricResult::ratio);
  throw ValueError("unknown metric \"" + m + "\"; expected one of " + kNames);
}

std::vector<std::string> split(const std::string& text, char at) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t end = text.find(at, start);
    parts.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

// One ":option=value" of a spec, with the errors that name both.
struct Option {
  const std::string& spec;
  std::string option, value;
  [[noreturn]] void refuse(const std::string& why) const {
    throw ValueError("metric \"" + spec + "\": option \"" + option + "\" " + why);
  }
  int integer(int at_least) const {
    char* end = nullptr;
    const long v = std::strtol(value.c_str(), &end, 10);
    if (value.empty() || end != value.c_str() + value.size() || v < at_least || v > std::numeric_limits<int>::max()) {
      refuse("expects an integer >= " + std::to_string(at_least) + ", found \"" + value + "\"");
    }
    return static_cast<int>(v);
  }
  float number() const {
    char* end = nullptr;
    const float v = std::strtof(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v)) {
      refuse("expects a number, found \"" + value + "\"");
    }
    return v;
  }
  bool boolean() const {
    if (value.empty() || value == "true" || value == "True") return true;
    if (value == "false" || value == "False") return false;
    refuse("expects true or false, found \"" + value + "\"");
  }
  std::string one_of(const std::vector<std::string>& allowed) const {
    std::string list;
    for (const auto& a : allowed) {
      if (value == a) return a;
      list += (list.empty() ? "" : ", ") + a;
    }
    refuse("expects one of " + list + ", found \"" + value + "\"");
  }
};

// Whether `option` applies to the family (name and object apply to every metric).
bool applies(const CountingMetric& m, const std::string& option) {
  switch (m.family) {
    case Family::top_k:
    case Family::sparse_top_k: return option == "k";
    case Family::auc:
      return option == "num_thresholds" || option == "curve" || option == "summation_method" ||
             option == "from_logits" || option == "multi_label";
    case Family::f_beta: return option == "average" || option == "threshold" || (option == "beta" && !m.f1);
    case Family::iou:
      return option == "num_classes" || option == "ignore_class" || (option == "target_class_ids" && !m.mean) ||
             (!m.one_hot && (option == "sparse_y_true" || option == "sparse_y_pred"));
  }
  return false;
}

void read_option(const Option& o, MetricParams& p, MetricConfig& config) {
  const std::string& k = o.option;
  if (k == "k") p.k = o.integer(1);
  if (k == "num_thresholds") p.num_thresholds = o.integer(2);
  if (k == "curve") p.curve = o.one_of({"ROC", "PR"});
  if (k == "summation_method") p.summation_method = o.one_of({"interpolation", "minoring", "majoring"});
  if (k == "from_logits") p.from_logits = o.boolean();
  if (k == "multi_label" && o.boolean()) o.refuse("true is not supported: kerosene's AUC is over every label at once");
  if (k == "average") {
    if (o.value == "None" || o.value == "none") {
      o.refuse("None gives one score per class, which kerosene's logs (one number per name) cannot hold; use "
               "average=micro, macro or weighted");
    }
    p.average = o.one_of({"micro", "macro", "weighted"});
  }
  if (k == "beta") {
    p.beta = o.number();
    if (!(p.beta > 0.0f)) o.refuse("must be > 0, found " + o.value);
  }
  if (k == "threshold") {
    p.threshold = o.number();
    if (!(*p.threshold > 0.0f && *p.threshold <= 1.0f)) o.refuse("must verify 0 < threshold <= 1, found " + o.value);
  }
  if (k == "num_classes") p.num_classes = o.integer(1);
  if (k == "ignore_class") p.ignore_class = o.integer(std::numeric_limits<int>::min() + 1);
  if (k == "sparse_y_true") p.sparse_y_true = o.boolean();
  if (k == "sparse_y_pred") p.sparse_y_pred = o.boolean();
  if (k == "target_class_ids") {
    p.target_class_ids.clear();
    for (const std::string& id : split(o.value, ',')) p.target_class_ids.push_back(Option{o.spec, k, id}.integer(0));
  }
  if (k == "name") {
    if (o.value.empty()) o.refuse("expects a name");
    config.name = o.value;
  }
}

// The kernel's arguments and the result, once the options are read; checks what needs them all.
void finish(const CountingMetric& m, const std::string& spec, MetricConfig& c) {
  MetricParams& p = c.params;
  backends::MetricCountArgs args{};
  switch (m.family) {
    case Family::top_k:
    case Family::sparse_top_k:
      args.kind = MetricCountKind::top_k_hits;
      args.size = p.k;
      args.sparse_y_true = m.family == Family::sparse_top_k;
      c.result = MetricResult::mean;
      break;
    case Family::auc:
      args.kind = MetricCountKind::auc_buckets;
      args.size = p.num_thresholds;
      args.from_logits = p.from_logits;
      c.result = MetricResult::auc;
      break;
    case Family::f_beta:
      if (p.average.empty()) {
        throw ValueError("metric \"" + spec + "\": Keras' default average=None gives one score per class, which " +
                         "kerosene's logs (one number per name) cannot hold; give average=micro, macro or weighted");
      }
      args.kind = MetricCountKind::f_beta_counts;
      args.threshold = p.threshold ? *p.threshold : std::numeric_limits<float>::quiet_NaN();
      c.result = MetricResult::f_beta;
      break;
    case Family::iou:
      if (p.num_classes < 1) throw ValueError("metric \"" + spec + "\": needs num_classes (an integer >= 1)");
      if (!m.mean && p.target_class_ids.empty()) {
        throw ValueError("metric \"" + spec + "\": needs target_class_ids (class ids separated by commas)");
      }
      for (int id : p.target_class_ids) {
        if (id >= p.num_classes) {
          throw ValueError("metric \"" + spec + "\": target class id " + std::to_string(id) +
                           " is not below num_classes = " + std::to_string(p.num_classes));
        }
      }
      if (m.one_hot) p.sparse_y_true = p.sparse_y_pred = false;
      args.kind = MetricCountKind::confusion_matrix;
      args.size = p.num_classes;
      args.sparse_y_true = p.sparse_y_true;
      args.sparse_y_pred = p.sparse_y_pred;
      args.ignore_class = p.ignore_class.value_or(-1);
      c.result = MetricResult::iou;
      break;
  }
  c.counts = args;
}

}  // namespace

MetricConfig parse_metric_spec(const std::string& spec, const LossConfig& loss, int64_t output_units) {
  const std::vector<std::string> parts = split(spec, ':');
  const CountingMetric* counting = find_counting(parts[0]);
  if (counting == nullptr) {
    if (parts.size() > 1) {
      throw ValueError("metric \"" + spec + "\": " + parts[0] + " takes no options (" + kNames + ")");
    }
    return slot_metric(spec, loss, output_units);
  }
  MetricConfig c;
  c.name = counting->name;
  c.keras_class = counting->keras_class;
  c.as_object = parts.size() > 1;  // with options it can only be written as an object
  for (size_t i = 1; i < parts.size(); ++i) {
    const size_t eq = parts[i].find('=');
    const Option o{spec, parts[i].substr(0, eq), eq == std::string::npos ? "" : parts[i].substr(eq + 1)};
    if (o.option == "object") {
      c.as_object = true;
    } else if (o.option == "name" || applies(*counting, o.option)) {
      read_option(o, c.params, c);
    } else {
      o.refuse("does not apply to " + std::string(counting->keras_class));
    }
  }
  finish(*counting, spec, c);
  return c;
}

std::string metric_spec(const MetricConfig& m) {
  if (!m.counts) return m.name;
  const MetricParams& p = m.params;
  std::string out = m.keras_class;
  const CountingMetric& entry = *find_counting(m.keras_class);
  auto add = [&](const std::string& option, const std::string& value) { out += ":" + option + "=" + value; };
  auto flag = [](bool b) { return std::string(b ? "true" : "false"); };
  switch (entry.family) {
    case Family::top_k:
    case Family::sparse_top_k: add("k", std::to_string(p.k)); break;
    case Family::auc:
      add("num_thresholds", std::to_string(p.num_thresholds));
      add("curve", p.curve);
      add("summation_method", p.summation_method);
      if (p.from_logits) add("from_logits", "true");
      break;
    case Family::f_beta:
      add("average", p.average);
      if (!entry.f1) add("beta", shortest(p.beta));
      if (p.threshold) add("threshold", shortest(*p.threshold));
      break;
    case Family::iou: {
      add("num_classes", std::to_string(p.num_classes));
      std::string ids;
      for (int id : p.target_class_ids) {
        ids += ids.empty() ? "" : ",";
        ids += std::to_string(id);
      }
      if (!entry.mean) add("target_class_ids", ids);
      if (p.ignore_class) add("ignore_class", std::to_string(*p.ignore_class));
      if (!entry.one_hot) add("sparse_y_true", flag(p.sparse_y_true)), add("sparse_y_pred", flag(p.sparse_y_pred));
      break;
    }
  }
  if (m.name != entry.name) add("name", m.name);
  if (m.as_object) out += ":object";
  return out;
}

}  // namespace kerosene::train
