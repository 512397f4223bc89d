// Keras' model.summary() table, column for column (Keras 2.x layout for Sequential models).
#include <iostream>
#include <map>
#include <sstream>

#include "kerosene/sequential.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

constexpr int kLineLength = 65;
const std::vector<int> kPositions = {29, 55, 65};  // 0.45, 0.85 and 1.0 of the line
// A Functional model's table has a "Connected to" column and is 98 wide (.33, .55, .67, 1.0).
constexpr int kFunctionalLength = 98;
const std::vector<int> kFunctionalPositions = {33, 55, 67, 98};

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Prints one row, wrapping any field too long for its column onto following lines.
void print_row(std::ostream& out, std::vector<std::string> fields, const std::vector<int>& positions = kPositions) {
  const int columns = static_cast<int>(positions.size());
  auto any_left = [&] {
    for (const auto& f : fields) {
      if (!f.empty()) return true;
    }
    return false;
  };
  do {
    std::string line;
    for (int col = 0; col < columns; ++col) {
      const int start = col > 0 ? positions[col - 1] : 0;
      const int space = col != columns - 1 ? 2 : 0;
      const size_t cutoff = static_cast<size_t>(positions[col] - start - space);
      std::string fit = fields[col].substr(0, cutoff);
      if (col == 0) line += " ";
      line += fit;
      line += std::string(space, ' ');
      fields[col] = fields[col].size() > fit.size() ? fields[col].substr(fit.size()) : "";
      if (static_cast<int>(line.size()) < positions[col]) line += std::string(positions[col] - line.size(), ' ');
    }
    out << line << "\n";
  } while (any_left());
}

std::string functional_summary(const train::ModelState& s, int64_t total, int64_t trainable) {
  std::ostringstream out;
  out << "Model: \"" << s.name << "\"\n";
  out << std::string(kFunctionalLength, '_') << "\n";
  print_row(out, {"Layer (type)", "Output Shape", "Param #", "Connected to"}, kFunctionalPositions);
  out << std::string(kFunctionalLength, '=') << "\n";
  // Each node's name as Keras shows it: "layer[call][0]".
  std::vector<std::string> ref(s.nodes.size());
  std::map<int, int> calls;
  for (size_t i = 0; i < s.nodes.size(); ++i) {
    const train::Node& n = s.nodes[i];
    const int owner = n.first_call >= 0 ? n.first_call : static_cast<int>(i);
    ref[i] = (n.is_input() ? n.input_name : n.layer->name()) + "[" + std::to_string(calls[owner]++) + "][0]";
  }
  for (int op : s.keras_order) {
    const train::Node& n = s.nodes[static_cast<size_t>(op)];
    std::string connected = "[";
    for (size_t i = 0; i < s.nodes.size(); ++i) {
      if (static_cast<int>(i) != op && s.nodes[i].first_call != op) continue;
      for (int t : s.nodes[i].inputs) connected += (connected.size() > 1 ? ", '" : "'") + ref[static_cast<size_t>(t)] + "'";
    }
    connected += "]";
    if (n.is_input()) {
      print_row(out, {n.input_name + " (InputLayer)", "[" + n.shape.with_batch(0).to_string(true) + "]", "0", "[]"},
                kFunctionalPositions);
    } else {
      print_row(out, {n.layer->name() + " (" + n.layer->class_name() + ")", n.shape.with_batch(0).to_string(true),
                      std::to_string(n.layer->count_params()), connected},
                kFunctionalPositions);
    }
    out << std::string(kFunctionalLength, ' ') << "\n";
  }
  out << std::string(kFunctionalLength, '=') << "\n";
  out << "Total params: " << with_thousands(total) << "\n";
  out << "Trainable params: " << with_thousands(trainable) << "\n";
  out << "Non-trainable params: " << with_thousands(total - trainable) << "\n";
  out << std::string(kFunctionalLength, '_') << "\n";
  return out.str();
}

}  // namespace

std::string Model::summary_string() const {
  // Keras' "Trainable params": the trainable variables of the trainable layers (not a frozen
  // layer's, nor BatchNormalization's moving statistics).
  int64_t trainable = 0;
  for (const auto& l : state().layers) trainable += l->built() && l->trainable() ? l->count_trainable_params() : 0;
  if (state().functional) return functional_summary(state(), count_params(), trainable);
  std::ostringstream out;
  out << "Model: \"" << name() << "\"\n";
  out << std::string(kLineLength, '_') << "\n";
  print_row(out, {"Layer (type)", "Output Shape", "Param #"});
  out << std::string(kLineLength, '=') << "\n";
  const auto& layers = state().layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& l = *layers[i];
    std::string shape = l.built() ? l.output_shape().with_batch(0).to_string(true) : "multiple";
    std::string params = l.built() ? std::to_string(l.count_params()) : "0 (unbuilt)";
    print_row(out, {l.name() + " (" + l.class_name() + ")", shape, params});
    out << std::string(kLineLength, ' ') << "\n";  // Keras separates rows with a blank line
  }
  out << std::string(kLineLength, '=') << "\n";
  const int64_t total = count_params();
  out << "Total params: " << with_thousands(total) << "\n";
  out << "Trainable params: " << with_thousands(trainable) << "\n";
  out << "Non-trainable params: " << with_thousands(total - trainable) << "\n";
  out << std::string(kLineLength, '_') << "\n";
  return out.str();
}

void Model::summary(std::ostream* out) const { (out ? *out : std::cout) << summary_string(); }

}  // namespace kerosene
