// Layers against Keras (tests/reference/layers.json): with Keras' weights (set through the
// public Layer::set_weights, in Keras' layouts), the forward output and the gradients of
// sum(output * R) w.r.t. the input and each weight match TensorFlow's.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "kerosene/layers.h"
#include "nn/layer.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

std::pair<int, int> pair_of(const json& v) { return {v.at(0).get<int>(), v.at(1).get<int>()}; }

/// The public layer a reference case describes.
kerosene::Layer make_layer(const json& c) {
  const std::string type = c["layer"];
  const json& cfg = c["config"];
  if (type == "Dense") {
    layers::DenseOptions o;
    o.activation = cfg.value("activation", "linear");
    o.use_bias = cfg.value("use_bias", true);
    return layers::Dense(cfg["units"].get<int64_t>(), o);
  }
  if (type == "Conv2D") {
    EXPECT_EQ(cfg.value("data_format", "channels_last"), "channels_last");
    layers::Conv2DOptions o;
    o.strides = pair_of(cfg["strides"]);
    o.padding = cfg["padding"];
    o.activation = cfg.value("activation", "linear");
    o.use_bias = cfg.value("use_bias", true);
    return layers::Conv2D(cfg["filters"].get<int64_t>(), pair_of(cfg["kernel_size"]), o);
  }
  if (type == "MaxPooling2D" || type == "AveragePooling2D") {
    layers::Pooling2DOptions o;
    o.strides = pair_of(cfg["strides"]);
    o.padding = cfg["padding"];
    return type == "MaxPooling2D" ? layers::MaxPooling2D(pair_of(cfg["pool_size"]), o)
                                  : layers::AveragePooling2D(pair_of(cfg["pool_size"]), o);
  }
  if (type == "Activation") {
    EXPECT_EQ(cfg.value("axis", -1), -1);
    return layers::Activation(cfg["activation"]);
  }
  ADD_FAILURE() << "reference case of unknown layer type " << type;
  return layers::Flatten();
}

void expect_matches(const Tensor& actual, const json& expected, const std::string& what) {
  EXPECT_EQ(actual.shape(), shape_of(expected["shape"])) << what;
  expect_max_abs_diff(values_of(actual), floats_of(expected["values"]), 1e-5, what);
}

TEST(LayerReferenceTest, ForwardAndGradientsMatchKeras) {
  const json ref = load_reference("layers.json");
  ASSERT_TRUE(ref.contains("cases"));
  ASSERT_GE(ref["cases"].size(), 10u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    Tensor x = tensor_of(c["input"]);
    kerosene::Layer handle = make_layer(c);
    auto layer = build_layer(handle, x.shape().drop_batch());

    std::vector<Tensor> weights;
    if (c.contains("kernel")) weights.push_back(tensor_of(c["kernel"]));
    if (c.contains("bias")) weights.push_back(tensor_of(c["bias"]));
    ASSERT_EQ(layer->variables().size(), weights.size()) << name;
    handle.set_weights(weights);

    expect_matches(layer->forward(x, /*training=*/false), c["output"], name + ": output");
    const Tensor& dx = layer->backward(tensor_of(c["R"]), /*need_dx=*/true);
    expect_matches(dx, c["grad_input"], name + ": d/d(input)");
    const char* grad_keys[] = {"grad_kernel", "grad_bias"};
    for (size_t i = 0; i < layer->variables().size(); ++i) {
      expect_matches(layer->variables()[i].grad, c[grad_keys[i]], name + ": d/d(" + layer->variables()[i].name + ")");
    }
  }
}

// The same cases in training mode: none of these layers behaves differently when training, and
// the training path (which keeps what backward needs) must give the same numbers.
TEST(LayerReferenceTest, TrainingModeGivesTheSameValues) {
  const json ref = load_reference("layers.json");
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    Tensor x = tensor_of(c["input"]);
    kerosene::Layer handle = make_layer(c);
    auto layer = build_layer(handle, x.shape().drop_batch());
    std::vector<Tensor> weights;
    if (c.contains("kernel")) weights.push_back(tensor_of(c["kernel"]));
    if (c.contains("bias")) weights.push_back(tensor_of(c["bias"]));
    handle.set_weights(weights);
    expect_matches(layer->forward(x, /*training=*/true), c["output"], name + ": output (training)");
    expect_matches(layer->backward(tensor_of(c["R"]), true), c["grad_input"], name + ": d/d(input) (training)");
  }
}

}  // namespace
}  // namespace kerosene::test
