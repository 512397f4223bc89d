// A short fit with a learning-rate schedule and clipnorm against Keras 3
// (tests/reference/training_schedule.json): SGD(ExponentialDecay, momentum, clipnorm) on a
// Dense relu + Dense model with mse, 3 epochs of 2 batches: the same losses and weights.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "kerosene/callbacks.h"
#include "kerosene/layers.h"
#include "kerosene/sequential.h"
#include "nn/optimizer.h"
#include "saving/optimizer_config.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

class WeightsAfterEpoch : public Callback {
 public:
  void on_epoch_end(int, Logs&) override { weights.push_back(model()->get_weights()); }
  std::vector<std::vector<Tensor>> weights;
};

TEST(TrainingScheduleReferenceTest, FitWithScheduleAndClipnormMatchesKeras) {
  const json ref = load_reference("training_schedule.json");
  Sequential model({layers::Input(Shape{4}), layers::Dense(5, "relu"), layers::Dense(3)});
  std::vector<Tensor> initial;
  for (const json& w : ref["initial_weights"]) initial.push_back(tensor_of(w));
  model.set_weights(initial);
  Optimizer sgd(saving::decode_optimizer(ref["optimizer"], "training_schedule.json"));
  ASSERT_TRUE(sgd.impl()->schedule);
  ASSERT_TRUE(sgd.impl()->config().clipnorm);
  model.compile(sgd, "mse");
  auto recorder = std::make_shared<WeightsAfterEpoch>();
  FitOptions fit;
  fit.batch_size = 4;
  fit.epochs = 3;
  fit.shuffle = false;
  fit.verbose = 0;
  fit.callbacks = {recorder};
  const History history = model.fit(tensor_of(ref["x"]), tensor_of(ref["y"]), fit);
  const std::vector<float> expected_loss = floats_of(ref["history_loss"]);
  ASSERT_EQ(history.history.at("loss").size(), expected_loss.size());
  for (size_t e = 0; e < expected_loss.size(); ++e) {
    EXPECT_NEAR(history.history.at("loss")[e], expected_loss[e], 1e-5) << "epoch " << e + 1;
  }
  ASSERT_EQ(recorder->weights.size(), ref["weights_after_epoch"].size());
  for (size_t e = 0; e < recorder->weights.size(); ++e) {
    for (size_t i = 0; i < recorder->weights[e].size(); ++i) {
      expect_max_abs_diff(values_of(recorder->weights[e][i]), floats_of(ref["weights_after_epoch"][e][i]["values"]),
                          1e-5, "epoch " + std::to_string(e + 1) + " weight " + std::to_string(i));
    }
  }
  EXPECT_EQ(sgd.iterations(), ref["iterations"].get<int64_t>());
}

}  // namespace
}  // namespace kerosene::test
