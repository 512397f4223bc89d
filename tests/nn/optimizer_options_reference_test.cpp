// Learning-rate schedules, the base-optimizer options (clipnorm, clipvalue, global_clipnorm,
// weight_decay), amsgrad and Nadam/Adamax/Adagrad/Lion against Keras 3
// (tests/reference/schedules.json and optimizer_options.json, scripts/make_optimizer_reference.py).
// Each optimizer is built from the config Keras serialized, so the config reader is checked too,
// and written back: the same config as Keras'.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kerosene/error.h"
#include "kerosene/optimizers.h"
#include "nn/layer.h"
#include "nn/optimizer.h"
#include "saving/optimizer_config.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

// Equal JSON, numbers to float32 precision (kerosene keeps float32 hyperparameters).
void expect_same_json(const json& actual, const json& expected, const std::string& where) {
  if (expected.is_number() && actual.is_number()) {
    const double e = expected.get<double>(), a = actual.get<double>();
    EXPECT_NEAR(a, e, 1e-7 * std::max(1.0, std::fabs(e))) << where;
    return;
  }
  ASSERT_EQ(actual.type(), expected.type()) << where << ": " << actual.dump() << " vs Keras' " << expected.dump();
  if (expected.is_object()) {
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      // The optimizer's name is one Keras generated ("adam_1"); kerosene ignores it.
      if (it.key() == "name" && where.ends_with(".config") && !where.ends_with("learning_rate.config")) continue;
      ASSERT_TRUE(actual.contains(it.key())) << where << ": missing \"" << it.key() << "\"";
      expect_same_json(actual[it.key()], it.value(), where + "." + it.key());
    }
    EXPECT_EQ(actual.size(), expected.size()) << where << ": " << actual.dump();
  } else if (expected.is_array()) {
    ASSERT_EQ(actual.size(), expected.size()) << where;
    for (size_t i = 0; i < expected.size(); ++i) expect_same_json(actual[i], expected[i], where + "[" + std::to_string(i) + "]");
  } else {
    EXPECT_EQ(actual, expected) << where;
  }
}

json sgd_with(const json& learning_rate) {
  return {{"class_name", "SGD"}, {"config", {{"learning_rate", learning_rate}}}};
}

TEST(ScheduleReferenceTest, EverySchedulesValueAtEveryStepMatchesKeras) {
  const json ref = load_reference("schedules.json");
  ASSERT_GE(ref["cases"].size(), 12u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["schedule"]["class_name"].get<std::string>() + " " + c["schedule"]["config"].dump();
    SCOPED_TRACE(name);
    auto optimizer = saving::decode_optimizer(sgd_with(c["schedule"]), "schedules.json");
    ASSERT_TRUE(optimizer->schedule);
    const std::vector<float> expected = floats_of(c["values"]);
    for (size_t i = 0; i < expected.size(); ++i) {
      const int64_t step = c["steps"][i].get<int64_t>();
      optimizer->set_steps(step);
      EXPECT_NEAR(optimizer->current_learning_rate(), expected[i], 2e-7 * std::max(1e-3f, std::fabs(expected[i])))
          << "step " << step;
    }
    // Written back as Keras wrote it.
    const json written = json::parse(saving::optimizer_envelope(*optimizer).dump());
    expect_same_json(written["config"]["learning_rate"], c["schedule"], name);
  }
}

TEST(ScheduleReferenceTest, PublicConstructorsGiveKerasValues) {
  namespace s = optimizers::schedules;
  EXPECT_FLOAT_EQ(s::ExponentialDecay(0.1f, 10, 0.5f)(10), 0.05f);
  EXPECT_FLOAT_EQ(s::ExponentialDecay(0.1f, 10, 0.5f, true)(19), 0.05f);
  EXPECT_FLOAT_EQ(s::PiecewiseConstantDecay({10, 20}, {0.1f, 0.05f, 0.01f})(10), 0.1f);
  EXPECT_FLOAT_EQ(s::PiecewiseConstantDecay({10, 20}, {0.1f, 0.05f, 0.01f})(11), 0.05f);
  EXPECT_FLOAT_EQ(s::PiecewiseConstantDecay({10, 20}, {0.1f, 0.05f, 0.01f})(21), 0.01f);
  EXPECT_NEAR(s::CosineDecay(0.1f, 100)(50), 0.05f, 1e-8);
  EXPECT_FLOAT_EQ(s::CosineDecay(0.0f, 100, 0.0f, 0.2f, 10)(5), 0.1f);
  EXPECT_FLOAT_EQ(s::InverseTimeDecay(0.1f, 10, 1.0f)(10), 0.05f);
  EXPECT_FLOAT_EQ(s::PolynomialDecay(0.1f, 100)(1000), 1e-4f);
  EXPECT_THROW(s::ExponentialDecay(0.1f, 0, 0.5f), ValueError);
  EXPECT_THROW(s::PiecewiseConstantDecay({10}, {0.1f}), ValueError);
  // A schedule as an optimizer's learning rate: evaluated at the optimizer's iterations.
  Optimizer sgd = optimizers::SGD({.learning_rate = s::ExponentialDecay(0.1f, 1, 0.5f)});
  EXPECT_FLOAT_EQ(sgd.learning_rate(), 0.1f);
  sgd.impl()->set_steps(2);
  EXPECT_FLOAT_EQ(sgd.learning_rate(), 0.025f);
  EXPECT_THROW(sgd.set_learning_rate(0.5f), RuntimeError);  // Keras: TypeError
}

// Keras' variables of the optimizer, beyond iteration and learning_rate: what .weights.h5 holds.
size_t keras_variable_count(nn::Optimizer& optimizer, size_t variables) {
  size_t n = 1 + (optimizer.schedule ? 0 : 1) + optimizer.scalar_state().size();
  for (const auto& group : optimizer.keras_slot_groups()) n += group.size() * variables;
  return n;
}

TEST(OptimizerOptionsReferenceTest, EveryStepOfEveryCaseMatchesKeras) {
  const json ref = load_reference("optimizer_options.json");
  ASSERT_GE(ref["cases"].size(), 20u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    std::shared_ptr<nn::Optimizer> optimizer;
    ASSERT_NO_THROW(optimizer = saving::decode_optimizer(c["optimizer"], "optimizer_options.json"));
    expect_same_json(json::parse(saving::optimizer_envelope(*optimizer).dump()), c["optimizer"], name);
    std::vector<nn::Variable> vars;
    for (const json& t : c["initial"]) vars.push_back({"v", tensor_of(t), Tensor::zeros(shape_of(t["shape"]))});
    std::vector<nn::Variable*> pointers{&vars[0], &vars[1]};
    const std::vector<float> lrs = floats_of(c["learning_rate_before_step"]);
    for (size_t step = 0; step < c["gradients"].size(); ++step) {
      const std::string at = name + " step " + std::to_string(step + 1);
      EXPECT_NEAR(optimizer->current_learning_rate(), lrs[step], 1e-7 * std::max(1.0f, lrs[step])) << at;
      for (size_t i = 0; i < vars.size(); ++i) vars[i].grad = make_tensor(floats_of(c["gradients"][step][i]), vars[i].value.shape());
      optimizer->apply(pointers);
      for (size_t i = 0; i < vars.size(); ++i) {
        expect_close(vars[i].value, floats_of(c["after_step"][step][i]), 2e-6, 2e-6, at + " variable " + std::to_string(i));
      }
    }
    EXPECT_EQ(keras_variable_count(*optimizer, vars.size()), c["optimizer_variables"].size()) << c["optimizer_variables"].dump();
  }
}

TEST(OptimizerOptionsTest, ClippingOptionsAreMutuallyExclusiveWithKerasMessage) {
  try {
    optimizers::SGD({.clipnorm = 1.0f, .clipvalue = 0.5f});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                                         "Received: clipnorm=1.0, clipvalue=0.5, global_clipnorm=None"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(optimizers::Adam({.clipnorm = 1.0f, .global_clipnorm = 1.0f}), ValueError);
  EXPECT_THROW(optimizers::Lion({.beta_1 = 0.0f}), ValueError);
  EXPECT_NO_THROW(optimizers::Nadam({.global_clipnorm = 1.0f}));
}

TEST(OptimizerOptionsTest, NewOptimizersByNameWithKerasDefaults) {
  for (const char* name : {"nadam", "adamax", "adagrad", "lion"}) {
    Optimizer o(name);
    EXPECT_FLOAT_EQ(o.learning_rate(), 0.001f) << name;
  }
  EXPECT_EQ(Optimizer("Nadam").name(), "Nadam");
  EXPECT_FLOAT_EQ(optimizers::Lion().impl()->config().beta_2, 0.99f);
  EXPECT_FLOAT_EQ(optimizers::Adagrad().impl()->config().initial_accumulator_value, 0.1f);
}

// A clone (a mirrored replica's optimizer) that follows its leader sees a learning rate set on
// the leader at its next step.
TEST(OptimizerOptionsTest, FollowerReadsTheLeadersLearningRate) {
  Optimizer leader = optimizers::SGD({.learning_rate = 0.1f});
  auto follower = leader.impl()->clone();
  follower->follow_learning_rate_of(leader.impl());
  leader.set_learning_rate(0.02f);
  EXPECT_FLOAT_EQ(follower->current_learning_rate(), 0.02f);
  nn::Variable v{"v", make_tensor({1.0f}, Shape{1}), make_tensor({1.0f}, Shape{1})};
  follower->apply({&v});
  EXPECT_FLOAT_EQ(v.value.to_vector<float>()[0], 0.98f);
}

}  // namespace
}  // namespace kerosene::test
