// Training end to end against Keras (tests/reference/training.json): the same Sequential
// (Dense relu, Dense softmax), Keras' initial weights, Adam and sparse categorical cross-entropy,
// fit for 3 epochs of batches of 4 without shuffling: the same loss history, the same weights
// after each epoch and at the end, the same evaluate() before and after.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "kerosene/callbacks.h"
#include "kerosene/layers.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

class WeightsAtEpochEnd : public Callback {
 public:
  void on_epoch_end(int, Logs&) override { weights.push_back(model()->get_weights()); }
  std::vector<std::vector<Tensor>> weights;
};

void expect_weights(const std::vector<Tensor>& actual, const json& expected, double tol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].shape(), shape_of(expected[i]["shape"])) << what << " weight " << i;
    expect_max_abs_diff(values_of(actual[i]), floats_of(expected[i]["values"]), tol,
                        what + " weight " + std::to_string(i));
  }
}

TEST(TrainingReferenceTest, FitMatchesKerasLossHistoryAndWeights) {
  const json ref = load_reference("training.json");
  ASSERT_TRUE(ref.contains("history_loss"));
  const json& model_cfg = ref["model"];
  ASSERT_EQ(model_cfg["layers"].size(), 2u);
  ASSERT_EQ(ref["compile"]["optimizer"], "adam");
  ASSERT_EQ(ref["compile"]["loss"], "sparse_categorical_crossentropy");

  std::vector<kerosene::Layer> stack{layers::Input(shape_of(model_cfg["input_shape"]))};
  for (const json& l : model_cfg["layers"]) {
    ASSERT_EQ(l["type"], "Dense");
    stack.push_back(layers::Dense(l["units"].get<int64_t>(), l["activation"].get<std::string>()));
  }
  Sequential model(stack);
  std::vector<Tensor> initial;
  for (const json& w : ref["initial_weights"]) initial.push_back(tensor_of(w));
  model.set_weights(initial);

  const json& opt = ref["compile"]["optimizer_config"];
  optimizers::AdamOptions adam;
  adam.learning_rate = opt["learning_rate"].get<float>();
  adam.beta_1 = opt["beta_1"].get<float>();
  adam.beta_2 = opt["beta_2"].get<float>();
  adam.epsilon = opt["epsilon"].get<float>();
  model.compile(optimizers::Adam(adam), "sparse_categorical_crossentropy");

  const Tensor x = tensor_of(ref["x"]);
  std::vector<int32_t> labels;
  for (const json& v : ref["y"]) labels.push_back(v.get<int32_t>());
  const Tensor y = Tensor::from_vector(labels, {static_cast<int64_t>(labels.size())});

  EvaluateOptions eval;
  eval.batch_size = 8;
  eval.verbose = 0;
  const double initial_loss = ref["initial_loss"].get<double>();
  EXPECT_NEAR(model.evaluate(x, y, eval).loss(), initial_loss, 1e-5 * std::max(1.0, initial_loss));

  auto recorder = std::make_shared<WeightsAtEpochEnd>();
  FitOptions fit;
  fit.batch_size = ref["fit"]["batch_size"].get<int>();
  fit.epochs = ref["fit"]["epochs"].get<int>();
  fit.shuffle = ref["fit"]["shuffle"].get<bool>();
  fit.verbose = 0;
  fit.callbacks = {recorder};
  ASSERT_FALSE(fit.shuffle);
  const History history = model.fit(x, y, fit);

  const std::vector<float> expected_loss = floats_of(ref["history_loss"]);
  ASSERT_TRUE(history.history.count("loss"));
  const std::vector<double>& loss = history.history.at("loss");
  ASSERT_EQ(loss.size(), expected_loss.size());
  for (size_t e = 0; e < loss.size(); ++e) {
    EXPECT_NEAR(loss[e], expected_loss[e], 1e-5) << "epoch " << e + 1 << " loss";
  }

  ASSERT_EQ(recorder->weights.size(), ref["weights_after_epoch"].size());
  for (size_t e = 0; e < recorder->weights.size(); ++e) {
    expect_weights(recorder->weights[e], ref["weights_after_epoch"][e], 1e-4, "after epoch " + std::to_string(e + 1));
  }
  expect_weights(model.get_weights(), ref["final_weights"], 1e-4, "final");

  const double final_loss = ref["final_loss"].get<double>();
  EXPECT_NEAR(model.evaluate(x, y, eval).loss(), final_loss, 1e-5 * std::max(1.0, final_loss));
}

}  // namespace
}  // namespace kerosene::test
