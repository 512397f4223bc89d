// Metrics accumulated over several batches, as Keras 3 accumulates them (update_state per
// batch, then result): tests/reference/metrics_keras3.json (scripts/make_metric_reference_values.py).
// The model is the identity, so its predictions are the reference's y_pred.
#include <gtest/gtest.h>

#include "kerosene/kerosene.h"
#include "test_util.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

Tensor matrix(const test::json& rows) {
  std::vector<float> v;
  for (const auto& row : rows) {
    for (const auto& x : row) v.push_back(static_cast<float>(x.get<double>()));
  }
  return Tensor::from_vector(v, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())});
}

EvaluateResult evaluate_identity(const std::string& loss, const std::vector<std::string>& metrics, const Tensor& x,
                                 const Tensor& y, int batch_size) {
  Sequential model({layers::Input({x.dim(1)}), layers::Activation("linear")});
  model.compile(optimizers::SGD(), loss, metrics);
  return model.evaluate(x, y, {.batch_size = batch_size, .verbose = 0});
}

TEST(MetricsKeras3, AccumulatedOverBatchesAsKeras) {
  const test::json ref = test::load_reference("metrics_keras3.json");
  const int batch = ref["batch_size"].get<int>();
  const Tensor pred = matrix(ref["y_pred"]);
  const test::json& want = ref["values"];
  const EvaluateResult binary = evaluate_identity("binary_crossentropy", {"precision", "recall", "binary_accuracy"},
                                                  pred, matrix(ref["y_true_binary"]), batch);
  for (const char* name : {"precision", "recall", "binary_accuracy"}) {
    EXPECT_NEAR(binary[name], want[name].get<double>(), 1e-6) << name;
  }
  const EvaluateResult regression = evaluate_identity("mse", {"mae", "mse", "root_mean_squared_error"}, pred,
                                                      matrix(ref["y_true_regression"]), batch);
  for (const char* name : {"mae", "mse", "root_mean_squared_error"}) {
    EXPECT_NEAR(regression[name], want[name].get<double>(), 1e-5) << name;
  }
}

TEST(MetricsKeras3, PrecisionKeepsTwoSlotsAndIsZeroWithoutPositives) {
  Sequential model({layers::Input({2}), layers::Activation("linear")});
  model.compile(optimizers::SGD(), "binary_crossentropy", {"accuracy", "precision", "recall"});
  EXPECT_EQ(model.state().running_sum_count(), 5u);  // accuracy 1, precision 2, recall 2
  const Tensor x = Tensor::from_vector(std::vector<float>{0.1f, 0.2f, 0.3f, 0.4f}, {2, 2});
  const Tensor y = Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2});
  const EvaluateResult r = model.evaluate(x, y, {.verbose = 0});
  EXPECT_EQ(r["precision"], 0.0);  // nothing predicted positive: Keras' divide_no_nan
  EXPECT_EQ(r["recall"], 0.0);
  EXPECT_EQ(r.size(), 4u);  // loss, accuracy, precision, recall
}

}  // namespace
}  // namespace kerosene
