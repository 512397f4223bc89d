#include "train/loss_catalog.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "kerosene/error.h"

namespace kerosene::train {

using backends::LossKind;

const std::vector<LossEntry>& loss_entries() {
  static const std::vector<LossEntry> entries = {
      {LossKind::sparse_categorical_crossentropy, "sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
       "sparse_categorical_crossentropy", {}, true, false},
      {LossKind::categorical_crossentropy, "categorical_crossentropy", "CategoricalCrossentropy",
       "categorical_crossentropy", {}, true, true},
      {LossKind::binary_crossentropy, "binary_crossentropy", "BinaryCrossentropy", "binary_crossentropy", {}, true,
       true},
      {LossKind::mean_squared_error, "mean_squared_error", "MeanSquaredError", "mean_squared_error", {"mse", "MSE"},
       false, false},
      {LossKind::mean_absolute_error, "mean_absolute_error", "MeanAbsoluteError", "mean_absolute_error",
       {"mae", "MAE"}, false, false},
      {LossKind::huber, "huber", "Huber", "huber_loss", {}, false, false},
      {LossKind::log_cosh, "log_cosh", "LogCosh", "log_cosh", {}, false, false},
      {LossKind::mean_squared_logarithmic_error, "mean_squared_logarithmic_error", "MeanSquaredLogarithmicError",
       "mean_squared_logarithmic_error", {"msle", "MSLE"}, false, false},
      {LossKind::kl_divergence, "kl_divergence", "KLDivergence", "kl_divergence",
       {"kld", "KLD", "kullback_leibler_divergence"}, false, false},
      {LossKind::poisson, "poisson", "Poisson", "poisson", {}, false, false},
      {LossKind::hinge, "hinge", "Hinge", "hinge", {}, false, false},
      {LossKind::squared_hinge, "squared_hinge", "SquaredHinge", "squared_hinge", {}, false, false},
      {LossKind::cosine_similarity, "cosine_similarity", "CosineSimilarity", "cosine_similarity", {}, false, false},
  };
  return entries;
}

const LossEntry* find_loss(const std::string& name) {
  for (const auto& e : loss_entries()) {
    if (name == e.name || name == e.keras_class || name == e.config_name) return &e;
    for (const char* a : e.aliases) {
      if (name == a) return &e;
    }
  }
  return nullptr;
}

const LossEntry& loss_entry(LossKind kind) {
  for (const auto& e : loss_entries()) {
    if (e.kind == kind) return e;
  }
  throw RuntimeError("loss kind " + std::to_string(static_cast<int>(kind)) + " is not in the loss table");
}

std::string loss_names() {
  std::string out;
  for (const auto& e : loss_entries()) out += (out.empty() ? "" : ", ") + std::string(e.name);
  return out;
}

std::string shortest(float v) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, v).ptr;
  return std::string(buffer, end);
}

double as_written(float v) { return std::strtod(shortest(v).c_str(), nullptr); }

const char* reduction_name(Reduction r) { return r == Reduction::sum ? "sum" : "sum_over_batch_size"; }

namespace {

float parse_number(const std::string& text, const std::string& loss, const std::string& option) {
  char* end = nullptr;
  const float v = std::strtof(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
    throw ValueError("loss \"" + loss + "\": option " + option + " expects a number, found \"" + text + "\"");
  }
  return v;
}

}  // namespace

LossConfig parse_loss_spec(const std::string& spec, bool from_logits) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const LossEntry* entry = find_loss(parts[0]);
  if (entry == nullptr) throw ValueError("unknown loss \"" + spec + "\"; expected one of " + loss_names());
  LossConfig loss;
  loss.kind = entry->kind;
  loss.name = entry->name;
  loss.from_logits = from_logits && entry->takes_logits;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const size_t eq = part.find('=');
    const std::string option = part.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : part.substr(eq + 1);
    auto refuse = [&](const std::string& why) {
      throw ValueError("loss \"" + spec + "\": option \"" + option + "\" " + why);
    };
    if (option == "from_logits") {
      if (!entry->takes_logits) refuse("does not apply to " + std::string(entry->name));
      if (value.empty() || value == "true" || value == "True") {
        loss.from_logits = true;
      } else if (value == "false" || value == "False") {
        loss.from_logits = false;
      } else {
        refuse("expects true or false, found \"" + value + "\"");
      }
    } else if (option == "label_smoothing") {
      if (!entry->takes_label_smoothing) {
        refuse("applies to categorical_crossentropy and binary_crossentropy, not " + std::string(entry->name));
      }
      loss.label_smoothing = parse_number(value, spec, option);
      if (loss.label_smoothing < 0.0f || loss.label_smoothing > 1.0f) refuse("must lie in [0, 1], found " + value);
    } else if (option == "delta") {
      if (entry->kind != LossKind::huber) refuse("applies to huber only");
      loss.delta = parse_number(value, spec, option);
      if (!(loss.delta > 0.0f)) refuse("must be > 0, found " + value);
    } else if (option == "reduction") {
      if (value == "sum_over_batch_size" || value == "mean") {
        loss.reduction = Reduction::sum_over_batch_size;
      } else if (value == "sum") {
        loss.reduction = Reduction::sum;
      } else if (value == "none" || value == "None") {
        refuse("\"none\" gives a loss per sample, which fit cannot minimise; use sum_over_batch_size or sum");
      } else {
        refuse("expects sum_over_batch_size or sum, found \"" + value + "\"");
      }
    } else if (option == "object") {
      // Written by the losses:: helpers: the config then writes a loss object, as Keras does for one.
    } else {
      refuse("is unknown; expected from_logits, label_smoothing=, delta= or reduction=");
    }
    loss.as_object = loss.as_object || option != "from_logits";
  }
  return loss;
}

std::string loss_spec(const LossConfig& loss) {
  std::string out = loss.name;
  if (loss.from_logits) out += ":from_logits";
  if (loss.label_smoothing != 0.0f) out += ":label_smoothing=" + shortest(loss.label_smoothing);
  if (loss.delta != 1.0f) out += ":delta=" + shortest(loss.delta);
  if (loss.reduction != Reduction::sum_over_batch_size) out += ":reduction=" + std::string(reduction_name(loss.reduction));
  if (loss.as_object) out += ":object";
  return out;
}

}  // namespace kerosene::train
