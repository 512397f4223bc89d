// Keras' model.summary() table, column for column (Keras 2.x layout for Sequential models).
#include <iostream>
#include <sstream>

#include "kerosene/sequential.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

constexpr int kLineLength = 65;
constexpr int kPositions[3] = {29, 55, 65};  // 0.45, 0.85 and 1.0 of the line

std::string with_thousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Prints one row, wrapping any field too long for its column onto following lines.
void print_row(std::ostream& out, std::vector<std::string> fields) {
  auto any_left = [&] {
    for (const auto& f : fields) {
      if (!f.empty()) return true;
    }
    return false;
  };
  do {
    std::string line;
    for (int col = 0; col < 3; ++col) {
      const int start = col > 0 ? kPositions[col - 1] : 0;
      const int space = col != 2 ? 2 : 0;
      const size_t cutoff = static_cast<size_t>(kPositions[col] - start - space);
      std::string fit = fields[col].substr(0, cutoff);
      if (col == 0) line += " ";
      line += fit;
      line += std::string(space, ' ');
      fields[col] = fields[col].size() > fit.size() ? fields[col].substr(fit.size()) : "";
      if (static_cast<int>(line.size()) < kPositions[col]) line += std::string(kPositions[col] - line.size(), ' ');
    }
    out << line << "\n";
  } while (any_left());
}

}  // namespace

std::string Sequential::summary_string() const {
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
  int64_t trainable = 0;
  for (const auto& l : layers) trainable += l->built() ? l->count_trainable_params() : 0;
  out << "Total params: " << with_thousands(total) << "\n";
  out << "Trainable params: " << with_thousands(trainable) << "\n";
  out << "Non-trainable params: " << with_thousands(total - trainable) << "\n";
  out << std::string(kLineLength, '_') << "\n";
  return out.str();
}

void Sequential::summary(std::ostream* out) const { (out ? *out : std::cout) << summary_string(); }

}  // namespace kerosene
