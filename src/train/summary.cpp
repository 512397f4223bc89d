// Keras 3's model.summary(): the box-drawn table (summary_table.h) and the totals with sizes,
// for Sequential and Functional models. tests/reference/console holds Keras' own output.
#include <iostream>
#include <map>
#include <sstream>

#include "kerosene/sequential.h"
#include "train/console_format.h"
#include "train/model_state.h"
#include "train/summary_table.h"

namespace kerosene {
namespace {

constexpr int64_t kFloatBytes = 4;  // every variable is float32

// Keras' optimizer.variables: `iterations` and `learning_rate`, then its slots, which Keras
// creates only for the options in use (RMSprop's momentum and centered). The sizes are the JAX
// backend's, where the samples come from: iterations is an int32 there (no 64-bit integers by
// default), so both scalars take 4 bytes (TensorFlow's int64 would make it 12).
struct OptimizerSize {
  int64_t count = 0;
  int64_t bytes = 0;
};
OptimizerSize optimizer_size(const train::ModelState& s, int64_t trainable) {
  if (!s.compiled || !s.optimizer || !s.optimizer->has_state()) return {};  // Keras: not built yet
  const auto config = s.optimizer->config();
  int64_t slots = s.optimizer->slots_per_variable();
  if (config.kind == "RMSprop") slots = 1 + (config.momentum != 0.0f ? 1 : 0) + (config.centered ? 1 : 0);
  slots += config.use_ema + (config.gradient_accumulation_steps.value_or(0) != 0);  // averages, accumulators
  return {2 + slots * trainable, 4 + 4 + slots * trainable * kFloatBytes};
}

// Keras' format_layer_shape: "(None, 10)".
std::string shape_text(const Shape& shape) { return shape.with_batch(0).to_string(true); }

// A Functional model that is one chain (one input, each layer called once on the one before)
// gets a Sequential's three columns, as Keras decides from its nodes by depth.
bool is_chain(const train::ModelState& s) {
  if (s.input_nodes.size() != 1) return false;
  std::vector<int> consumers(s.nodes.size(), 0);
  for (const train::Node& n : s.nodes) {
    if (n.first_call >= 0) return false;  // a shared layer
    if (!n.is_input() && n.inputs.size() != 1) return false;
    for (int i : n.inputs) ++consumers[static_cast<size_t>(i)];
  }
  for (int c : consumers) {
    if (c > 1) return false;
  }
  return true;
}

std::vector<std::vector<std::string>> sequential_rows(const train::ModelState& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& layer : s.layers) {
    const auto& l = *layer;
    rows.push_back({l.name() + " (" + l.class_name() + ")", l.built() ? shape_text(l.output_shape()) : "?",
                    l.built() ? console::with_thousands(l.count_params()) : "0 (unbuilt)"});
  }
  return rows;
}

// One row per layer in Keras' order, InputLayers included; "Connected to" names each input
// tensor as "layer[node][tensor]" (node: which call of that layer).
std::vector<std::vector<std::string>> functional_rows(const train::ModelState& s, bool connections) {
  std::vector<std::string> ref(s.nodes.size());
  std::map<int, int> calls;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const train::Node& n = s.nodes[i];
    const int owner = n.first_call >= 0 ? n.first_call : static_cast<int>(i);
    ref[i] = (n.is_input() ? n.input_name : n.layer->name()) + "[" + std::to_string(calls[owner]++) + "][0]";
  }
  std::vector<std::vector<std::string>> rows;
  for (int op : s.keras_order) {
    const train::Node& n = s.nodes[static_cast<size_t>(op)];
    std::string connected;
    Shape shape = n.shape;
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      if (static_cast<int>(i) != op && s.nodes[i].first_call != op) continue;
      shape = s.nodes[i].shape;  // a shared layer shows its last call's output, as Keras
      for (int t : s.nodes[i].inputs) connected += (connected.empty() ? "" : ", ") + ref[static_cast<size_t>(t)];
    }
    std::vector<std::string> row;
    if (n.is_input()) {
      row = {n.input_name + " (InputLayer)", shape_text(shape), "0"};
    } else {
      row = {n.layer->name() + " (" + n.layer->class_name() + ")", shape_text(shape),
             console::with_thousands(n.layer->count_params())};
    }
    if (connections) row.push_back(connected.empty() ? "-" : connected);
    rows.push_back(row);
  }
  return rows;
}

std::string totals_line(const char* what, int64_t count, int64_t bytes) {
  return std::string(" ") + what + " params: " + console::with_thousands(count) + " (" +
         console::readable_size(static_cast<double>(bytes)) + ")\n";
}

}  // namespace

std::string Model::summary_string(int line_length) const {
  const train::ModelState& s = state();
  const bool sequential_like = !s.functional || is_chain(s);
  std::vector<console::TableColumn> columns = {{"Layer (type)"}, {"Output Shape"}, {"Param #", true}};
  std::vector<double> positions = {0.45, 0.80, 1.0};
  if (!sequential_like) {
    columns.push_back({"Connected to"});
    positions = {0.3, 0.56, 0.74, 1.0};
  }
  if (line_length <= 0) line_length = std::min(sequential_like ? 88 : 108, console::terminal_columns() - 4);
  const auto rows = s.functional ? functional_rows(s, !sequential_like) : sequential_rows(s);

  // Keras' "Trainable params": the trainable variables of the trainable layers (not a frozen
  // layer's, nor BatchNormalization's moving statistics).
  int64_t trainable = 0;
  for (const auto& l : s.layers) trainable += l->built() && l->trainable() ? l->count_trainable_params() : 0;
  const int64_t non_trainable = count_params() - trainable;
  const OptimizerSize optimizer = optimizer_size(s, trainable);
  const int64_t total = trainable + non_trainable + optimizer.count;
  const int64_t total_bytes = (trainable + non_trainable) * kFloatBytes + optimizer.bytes;

  std::string out = "Model: \"" + name() + "\"\n";
  out += console::render_table(columns, console::column_widths(line_length, positions), rows);
  out += totals_line("Total", total, total_bytes);
  out += totals_line("Trainable", trainable, trainable * kFloatBytes);
  out += totals_line("Non-trainable", non_trainable, non_trainable * kFloatBytes);
  if (optimizer.count > 0) out += totals_line("Optimizer", optimizer.count, optimizer.bytes);
  // Not in Keras' table: a line naming the dtype policies when one is not float32, so a summary
  // says how the model computes (an all-float32 model's summary stays exactly Keras').
  std::string policies;
  for (const auto& l : s.layers) {
    if (policies.find(l->dtype_policy()) == std::string::npos) policies += (policies.empty() ? "" : ", ") + l->dtype_policy();
  }
  if (policies != "float32" && !policies.empty()) out += " Dtype policies: " + policies + "\n";
  return out;
}

void Model::summary(std::ostream* out, int line_length) const {
  (out ? *out : std::cout) << summary_string(line_length);
}

}  // namespace kerosene
