// The Functional API's symbolic tensors: each remembers the layer call that makes it, so a
// Model can walk back from its outputs to its inputs and lay out the graph.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kerosene/shape.h"
#include "nn/layer.h"

namespace kerosene::train {

struct SymbolicTensor {
  std::shared_ptr<nn::Layer> layer;  // null for a model input (kerosene::Input)
  std::vector<std::shared_ptr<SymbolicTensor>> inputs;
  Shape shape;       // one sample
  std::string name;  // an Input's name, or "keras_tensor_N"
  uint64_t order;    // creation counter: tensors made earlier come first (a topological order)
};

}  // namespace kerosene::train
