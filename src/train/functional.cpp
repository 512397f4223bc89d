// The Functional API: Input, calling a layer on symbolic tensors, and a Model from inputs to
// outputs, laid out as the graph (train::Node) that the one executor (ModelState) runs.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>

#include "kerosene/error.h"
#include "kerosene/model.h"
#include "nn/simple_layers.h"
#include "train/model_state.h"
#include "train/symbolic_tensor.h"

namespace kerosene {
namespace {

std::atomic<uint64_t> g_symbolic_count{0};

std::shared_ptr<train::SymbolicTensor> make_symbolic(std::shared_ptr<nn::Layer> layer,
                                                    std::vector<std::shared_ptr<train::SymbolicTensor>> inputs,
                                                    const Shape& shape, std::string name) {
  auto t = std::make_shared<train::SymbolicTensor>();
  t->layer = std::move(layer);
  t->inputs = std::move(inputs);
  t->shape = shape;
  t->order = g_symbolic_count++;
  t->name = name.empty() ? "keras_tensor_" + std::to_string(t->order) : std::move(name);
  return t;
}

std::string describe(const train::SymbolicTensor& t) {
  const std::string shape = t.shape.with_batch(-1).to_string(true);
  if (!t.layer) return "input \"" + t.name + "\" " + shape;
  return "the output " + shape + " of layer \"" + t.layer->name() + "\"";
}

}  // namespace

namespace train {

void order_layers_as_keras(ModelState& s) {
  const int n = static_cast<int>(s.nodes.size());
  auto operation = [&](int node) { return s.nodes[static_cast<size_t>(node)].first_call >= 0 ? s.nodes[static_cast<size_t>(node)].first_call : node; };
  // The walk from the outputs: operations numbered when first met, nodes listed when finished.
  std::vector<int> operation_index(static_cast<size_t>(n), -1);
  int next_index = 0;
  std::vector<int> finished_order;
  std::vector<bool> finished(static_cast<size_t>(n), false);
  std::function<void(int)> visit = [&](int node) {
    if (finished[static_cast<size_t>(node)]) return;
    int& index = operation_index[static_cast<size_t>(operation(node))];
    if (index < 0) index = next_index++;
    for (int t : s.nodes[static_cast<size_t>(node)].inputs) visit(t);
    finished[static_cast<size_t>(node)] = true;
    finished_order.push_back(node);
  };
  for (int out : s.output_nodes) visit(out);
  std::vector<int> node_depth(static_cast<size_t>(n), 0), operation_depth(static_cast<size_t>(n), -1);
  for (auto it = finished_order.rbegin(); it != finished_order.rend(); ++it) {
    const int node = *it;
    int depth = std::max(node_depth[static_cast<size_t>(node)], std::max(0, operation_depth[static_cast<size_t>(operation(node))]));
    operation_depth[static_cast<size_t>(operation(node))] = depth;
    node_depth[static_cast<size_t>(node)] = depth;
    for (int t : s.nodes[static_cast<size_t>(node)].inputs) {
      node_depth[static_cast<size_t>(t)] = std::max(depth + 1, node_depth[static_cast<size_t>(t)]);
    }
  }
  for (int in : s.input_nodes) {  // inputs the outputs do not need
    if (operation_depth[static_cast<size_t>(in)] < 0) {
      operation_depth[static_cast<size_t>(in)] = 0;
      operation_index[static_cast<size_t>(in)] = -1;
    }
  }
  std::vector<int> order;
  for (int i = 0; i < n; ++i) {
    if (operation(i) == i && operation_depth[static_cast<size_t>(i)] >= 0) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const int da = operation_depth[static_cast<size_t>(a)], db = operation_depth[static_cast<size_t>(b)];
    if (da != db) return da > db;
    return operation_index[static_cast<size_t>(a)] < operation_index[static_cast<size_t>(b)];
  });
  s.keras_order = order;
  s.layers.clear();
  for (int node : order) {
    if (!s.nodes[static_cast<size_t>(node)].is_input()) s.layers.push_back(s.nodes[static_cast<size_t>(node)].layer);
  }
}

}  // namespace train

const Shape& KerasTensor::shape() const { return node_->shape; }
const std::string& KerasTensor::name() const { return node_->name; }

KerasTensor Input(const Shape& shape, const std::string& name) {
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] <= 0) {
      throw ValueError("Input: every dimension of a sample's shape must be positive, got " + shape.to_string());
    }
  }
  return KerasTensor(make_symbolic(nullptr, {}, shape, name.empty() ? nn::unique_name("input_layer") : name));
}

KerasTensor Layer::operator()(const KerasTensor& input) const { return (*this)(std::vector<KerasTensor>{input}); }

KerasTensor Layer::operator()(const std::vector<KerasTensor>& inputs) const {
  if (dynamic_cast<const nn::InputLayer*>(impl_.get())) {
    throw ValueError("an Input layer cannot be called; use kerosene::Input for a Functional model's inputs");
  }
  if (inputs.empty()) throw ValueError("layer \"" + name() + "\" was called on no inputs");
  std::vector<Shape> shapes;
  std::vector<std::shared_ptr<train::SymbolicTensor>> nodes;
  for (const KerasTensor& t : inputs) {
    if (!t.node()) throw ValueError("layer \"" + name() + "\" was called on an empty KerasTensor");
    shapes.push_back(t.shape());
    nodes.push_back(t.node());
  }
  // Checks the shapes now, as Keras does at the call: a layer that does not fit fails here,
  // naming itself and the shapes.
  const Shape out = shapes.size() == 1 ? impl_->compute_output_shape(shapes[0]) : impl_->compute_output_shape(shapes);
  return KerasTensor(make_symbolic(impl_, std::move(nodes), out, ""));
}

bool Layer::trainable() const { return impl_->trainable(); }
void Layer::set_trainable(bool trainable) { impl_->set_trainable(trainable); }

Model::Model(const KerasTensor& input, const KerasTensor& output, const std::string& name)
    : Model(std::vector<KerasTensor>{input}, std::vector<KerasTensor>{output}, name) {}

Model::Model(const std::vector<KerasTensor>& inputs, const std::vector<KerasTensor>& outputs, const std::string& name)
    : Model(train::new_model_state(name.empty() ? nn::unique_name("functional") : name)) {
  auto& s = *state_;
  if (inputs.empty() || outputs.empty()) throw ValueError("a Model needs at least one input and one output");
  std::map<const train::SymbolicTensor*, int> index;
  for (const KerasTensor& in : inputs) {
    if (!in.node() || in.node()->layer) {
      throw ValueError("Model \"" + s.name + "\": each input must be made by kerosene::Input, got " +
                       (in.node() ? describe(*in.node()) : std::string("an empty KerasTensor")));
    }
    if (index.count(in.node().get())) throw ValueError("Model \"" + s.name + "\": input \"" + in.name() + "\" is given twice");
    index[in.node().get()] = static_cast<int>(s.nodes.size());
    s.nodes.push_back(train::Node{nullptr, {}, -1, in.shape(), in.name()});
    s.input_nodes.push_back(index[in.node().get()]);
  }
  // Everything the outputs depend on, back to the inputs.
  std::vector<const train::SymbolicTensor*> reached;
  std::set<const train::SymbolicTensor*> seen;
  std::vector<std::pair<const train::SymbolicTensor*, const train::SymbolicTensor*>> stack;  // (tensor, needed by)
  for (const KerasTensor& out : outputs) {
    if (!out.node()) throw ValueError("Model \"" + s.name + "\": an output is an empty KerasTensor");
    stack.emplace_back(out.node().get(), nullptr);
  }
  while (!stack.empty()) {
    auto [t, needed_by] = stack.back();
    stack.pop_back();
    if (!seen.insert(t).second) continue;
    if (!t->layer) {
      if (!index.count(t)) {
        throw ValueError("Model \"" + s.name + "\": the graph is disconnected: " +
                         (needed_by ? describe(*needed_by) : std::string("an output")) + " needs " + describe(*t) +
                         ", which is not among the model's inputs");
      }
      continue;
    }
    reached.push_back(t);
    for (const auto& in : t->inputs) stack.emplace_back(in.get(), t);
  }
  std::sort(reached.begin(), reached.end(), [](auto* a, auto* b) { return a->order < b->order; });
  std::map<const nn::Layer*, int> first_call;
  for (const train::SymbolicTensor* t : reached) {
    train::Node node;
    for (const auto& in : t->inputs) node.inputs.push_back(index.at(in.get()));
    node.shape = t->shape;
    const int id = static_cast<int>(s.nodes.size());
    if (auto it = first_call.find(t->layer.get()); it != first_call.end()) {
      node.first_call = it->second;
      node.layer = t->layer->copy_unbuilt();
    } else {
      first_call[t->layer.get()] = id;
      node.layer = t->layer;
      s.layers.push_back(t->layer);
    }
    index[t] = id;
    s.nodes.push_back(std::move(node));
  }
  for (const KerasTensor& out : outputs) s.output_nodes.push_back(index.at(out.node().get()));
  s.functional = true;
  train::order_layers_as_keras(s);
  s.build_graph();
}

bool Model::is_functional() const { return state_->functional; }

}  // namespace kerosene
