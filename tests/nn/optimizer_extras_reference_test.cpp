// gradient_accumulation_steps, use_ema, ema_momentum and ema_overwrite_frequency against Keras 3
// (tests/reference/optimizer_extras.json, scripts/make_optimizer_extras_reference.py): each
// optimizer is read from the config Keras saved, written back the same, and trains a small
// model with fit to Keras' losses and weights (the EMA's final overwrite included).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "data/data_test_files.h"
#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/layers.h"
#include "kerosene/models.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"
#include "nn/optimizer.h"
#include "saving/optimizer_config.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

constexpr double kTolerance = 2e-5;

class WeightsAfterEpoch : public Callback {
 public:
  void on_epoch_end(int, Logs&) override { weights.push_back(model()->get_weights()); }
  std::vector<std::vector<Tensor>> weights;
};

// Keras' config and kerosene's, key by key; numbers to float32 precision, the name ignored.
void expect_same_config(const json& actual, const json& expected, const std::string& where) {
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    if (it.key() == "name") continue;
    ASSERT_TRUE(actual.contains(it.key())) << where << ": missing \"" << it.key() << "\"";
    const json& a = actual[it.key()];
    if (it->is_number() && a.is_number()) {
      EXPECT_NEAR(a.get<double>(), it->get<double>(), 1e-7 * std::max(1.0, std::fabs(it->get<double>())))
          << where << "." << it.key();
    } else if (it->is_object()) {
      EXPECT_EQ(a.value("class_name", ""), it->value("class_name", "")) << where << "." << it.key();
    } else {
      EXPECT_EQ(a, *it) << where << "." << it.key();
    }
  }
  EXPECT_EQ(actual.size(), expected.size()) << where << ": " << actual.dump();
}

Sequential reference_model(const json& ref) {
  Sequential model({layers::Input(Shape{4}), layers::Dense(5, "tanh"), layers::Dense(3)});
  std::vector<Tensor> initial;
  for (const json& w : ref["initial_weights"]) initial.push_back(tensor_of(w));
  model.set_weights(initial);
  return model;
}

FitOptions reference_fit() {
  FitOptions fit;
  fit.batch_size = 2;
  fit.epochs = 2;
  fit.shuffle = false;
  fit.verbose = 0;
  return fit;
}

const json& find_case(const json& ref, const std::string& name) {
  for (const json& c : ref["cases"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no case " + name + " in optimizer_extras.json");
}

TEST(OptimizerExtrasReferenceTest, AccumulationAndEmaTrainAsKeras) {
  const json ref = load_reference("optimizer_extras.json");
  ASSERT_GE(ref["cases"].size(), 8u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    Optimizer optimizer(saving::decode_optimizer(c["optimizer"], "optimizer_extras.json"));
    expect_same_config(saving::optimizer_envelope(*optimizer.impl())["config"], c["optimizer"]["config"], name);
    Sequential model = reference_model(ref);
    model.compile(optimizer, "mse");
    auto recorder = std::make_shared<WeightsAfterEpoch>();
    FitOptions fit = reference_fit();
    fit.callbacks = {recorder};
    const History history = model.fit(tensor_of(ref["x"]), tensor_of(ref["y"]), fit);
    const std::vector<float> expected_loss = floats_of(c["history_loss"]);
    ASSERT_EQ(history.history.at("loss").size(), expected_loss.size());
    for (size_t e = 0; e < expected_loss.size(); ++e) {
      EXPECT_NEAR(history.history.at("loss")[e], expected_loss[e], kTolerance) << "epoch " << e + 1;
    }
    ASSERT_EQ(recorder->weights.size(), c["weights_after_epoch"].size());
    for (size_t e = 0; e < recorder->weights.size(); ++e) {
      for (size_t i = 0; i < recorder->weights[e].size(); ++i) {
        expect_max_abs_diff(values_of(recorder->weights[e][i]), floats_of(c["weights_after_epoch"][e][i]["values"]),
                            kTolerance, name + ": epoch " + std::to_string(e + 1) + " weight " + std::to_string(i));
      }
    }
    const std::vector<Tensor> final_weights = model.get_weights();
    for (size_t i = 0; i < final_weights.size(); ++i) {
      expect_max_abs_diff(values_of(final_weights[i]), floats_of(c["final_weights"][i]["values"]), kTolerance,
                          name + ": after fit, weight " + std::to_string(i));
    }
    EXPECT_EQ(optimizer.iterations(), c["iterations"].get<int64_t>());
    EXPECT_EQ(optimizer.impl()->steps(), c["iteration_variable"].get<int64_t>());
  }
}

// The moving averages and accumulators are saved with the optimizer (after `iteration` and
// `learning_rate`, before the slots, as Keras), so a loaded model trains on exactly as the
// saved one does: 8 steps of 3-step accumulation leave 2 gradients in the accumulators.
TEST(OptimizerExtrasReferenceTest, SavedStateContinuesExactly) {
  const json ref = load_reference("optimizer_extras.json");
  for (const char* name : {"adam_accumulate_3_schedule_clipnorm", "adamw_accumulate_2_ema_overwrite_2", "adam_ema_0.9"}) {
    SCOPED_TRACE(name);
    const json& c = find_case(ref, name);
    Sequential model = reference_model(ref);
    model.compile(Optimizer(saving::decode_optimizer(c["optimizer"], "optimizer_extras.json")), "mse");
    const Tensor x = tensor_of(ref["x"]), y = tensor_of(ref["y"]);
    model.fit(x, y, reference_fit());
    data_testing::TempDir dir;
    const std::string path = dir / "model.keras";
    model.save(path);
    Model loaded = models::load_model(path);
    EXPECT_EQ(loaded.optimizer().impl()->steps(), model.optimizer().impl()->steps());
    FitOptions more = reference_fit();
    more.epochs = 1;
    model.fit(x, y, more);
    loaded.fit(x, y, more);
    const std::vector<Tensor> a = model.get_weights(), b = loaded.get_weights();
    for (size_t i = 0; i < a.size(); ++i) expect_max_abs_diff(values_of(b[i]), values_of(a[i]), 0.0, "weight " + std::to_string(i));
  }
}

TEST(OptimizerExtrasReferenceTest, BadOptionsGetKerasMessages) {
  try {
    optimizers::SGD({.gradient_accumulation_steps = 1});
    FAIL() << "expected a ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "`gradient_accumulation_steps` must be an integer >= 2. Received: gradient_accumulation_steps=1");
  }
  try {
    optimizers::Adam({.use_ema = true, .ema_momentum = 1.5f});
    FAIL() << "expected a ValueError";
  } catch (const ValueError& e) {
    EXPECT_STREQ(e.what(), "`ema_momentum` must be in the range [0, 1]. Received: ema_momentum=1.5");
  }
  EXPECT_THROW(optimizers::RMSprop({.use_ema = true, .ema_overwrite_frequency = -2}), ValueError);
  EXPECT_NO_THROW(optimizers::SGD({.ema_momentum = 1.5f}));  // unchecked without use_ema, as Keras
}

}  // namespace
}  // namespace kerosene::test
