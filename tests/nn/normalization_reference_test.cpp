// BatchNormalization and LayerNormalization against Keras 3 (tests/reference/normalization.json,
// written by scripts/make_normalization_reference.py): with Keras' weights, in training and in
// inference mode, the output, the gradients of sum(output * R) w.r.t. the input and the
// trainable weights, and every weight after the call (the moving statistics Keras updated);
// then a small convnet fitted with SGD: the loss history, every weight (moving statistics
// included) after 4 steps, and evaluate / predict, which use the moving statistics.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kerosene/layers.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"
#include "nn/layer.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

kerosene::Layer make_layer(const json& c) {
  const json& cfg = c["config"];
  if (c["layer"] == "BatchNormalization") {
    return layers::BatchNormalization({.momentum = cfg["momentum"].get<double>(),
                                       .epsilon = cfg["epsilon"].get<double>(),
                                       .center = cfg["center"].get<bool>(),
                                       .scale = cfg["scale"].get<bool>()});
  }
  EXPECT_EQ(c["layer"], "LayerNormalization");
  return layers::LayerNormalization(
      {.epsilon = cfg["epsilon"].get<double>(), .center = cfg["center"].get<bool>(), .scale = cfg["scale"].get<bool>()});
}

std::vector<Tensor> tensors_of(const json& list) {
  std::vector<Tensor> out;
  for (const json& t : list) out.push_back(tensor_of(t));
  return out;
}

// |a - e| <= tol * max(1, max|e|). batch_norm_offset's inputs are ~100 with a spread of ~1:
// Keras computes x * inv + (-mean * inv), two float32 terms of ~170 whose difference is the
// output, so its own rounding is ~1e-5 there.
double tolerance(const std::string& name) { return name == "batch_norm_offset" ? 1e-4 : 2e-5; }

void expect_matches(const Tensor& actual, const json& expected, double tol, const std::string& what) {
  EXPECT_EQ(actual.shape(), shape_of(expected["shape"])) << what;
  expect_max_abs_diff(values_of(actual), floats_of(expected["values"]), tol, what);
}

TEST(NormalizationReferenceTest, LayersMatchKerasInTrainingAndInference) {
  const json ref = load_reference("normalization.json");
  ASSERT_TRUE(ref.contains("cases"));
  ASSERT_EQ(ref["cases"].size(), 8u);
  for (const json& c : ref["cases"]) {
    for (const char* mode : {"training", "inference"}) {
      const std::string name = c["name"].get<std::string>() + " (" + mode + ")";
      SCOPED_TRACE(name);
      const double tol = tolerance(c["name"]);
      const Tensor x = tensor_of(c["input"]);
      kerosene::Layer handle = make_layer(c);
      auto layer = build_layer(handle, x.shape().drop_batch());
      handle.set_weights(tensors_of(c["weights"]));  // every weight, moving statistics included
      const json& want = c[mode];

      expect_matches(layer->forward(x, std::string(mode) == "training"), want["output"], tol, name + ": output");
      expect_matches(layer->backward(tensor_of(c["R"]), /*need_dx=*/true), want["grad_input"], tol,
                     name + ": d/d(input)");
      size_t g = 0;
      for (const nn::Variable& v : layer->variables()) {
        if (!v.trainable) continue;
        ASSERT_LT(g, want["grad_weights"].size());
        expect_matches(v.grad, want["grad_weights"][g++], tol, name + ": d/d(" + v.name + ")");
      }
      EXPECT_EQ(g, want["grad_weights"].size());
      // Training updated the moving statistics as Keras did; inference left them alone.
      const std::vector<Tensor> after = handle.get_weights();
      ASSERT_EQ(after.size(), want["weights_after"].size());
      for (size_t i = 0; i < after.size(); ++i) {
        expect_matches(after[i], want["weights_after"][i], tol, name + ": weight " + std::to_string(i) + " after");
      }
    }
  }
}

TEST(NormalizationReferenceTest, FitUpdatesMovingStatisticsAsKeras) {
  const json ref = load_reference("normalization.json");
  ASSERT_TRUE(ref.contains("training"));
  const json& t = ref["training"];
  Sequential model({layers::Input({5, 5, 2}), layers::Conv2D(3, {3, 3}),
                    layers::BatchNormalization({.momentum = t["momentum"].get<double>()}), layers::Activation("relu"),
                    layers::Flatten(), layers::LayerNormalization(), layers::Dense(3, "softmax")});
  model.set_weights(tensors_of(t["initial_weights"]));
  model.compile(optimizers::SGD({.learning_rate = t["learning_rate"].get<float>()}), "sparse_categorical_crossentropy");

  const Tensor x = tensor_of(t["x"]);
  std::vector<int32_t> labels;
  for (const json& v : t["y"]) labels.push_back(v.get<int32_t>());
  const Tensor y = Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())});

  FitOptions fit;
  fit.batch_size = 4;
  fit.epochs = 2;
  fit.shuffle = false;
  fit.verbose = 0;
  const History history = model.fit(x, y, fit);
  const std::vector<float> expected_loss = floats_of(t["history_loss"]);
  ASSERT_EQ(history.history.at("loss").size(), expected_loss.size());
  for (size_t e = 0; e < expected_loss.size(); ++e) {
    EXPECT_NEAR(history.history.at("loss")[e], expected_loss[e], 1e-5) << "epoch " << e + 1;
  }

  const std::vector<Tensor> weights = model.get_weights();
  ASSERT_EQ(weights.size(), t["final_weights"].size());
  for (size_t i = 0; i < weights.size(); ++i) {
    expect_matches(weights[i], t["final_weights"][i], 1e-4, "weight " + std::to_string(i) + " after fit");
  }
  // Inference with the moving statistics: evaluate and predict agree with Keras'.
  EvaluateOptions eval;
  eval.batch_size = 8;
  eval.verbose = 0;
  EXPECT_NEAR(model.evaluate(x, y, eval).loss(), t["evaluate_loss"].get<double>(), 1e-5);
  expect_matches(model.predict(x), t["predict"], 1e-5, "predict after fit");
}

}  // namespace
}  // namespace kerosene::test
