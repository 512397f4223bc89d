// Sequential: Keras' model of a linear stack of layers, the one case of a Model (model.h) that
// is a chain.
#pragma once

#include <string>
#include <vector>

#include "kerosene/model.h"

namespace kerosene {

class Sequential : public Model {
 public:
  explicit Sequential(std::vector<Layer> layers = {}, const std::string& name = "");
  /// Appends a layer. Throws ValueError if its input shape does not fit the model's output.
  void add(const Layer& layer);
};

}  // namespace kerosene
