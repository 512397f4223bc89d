// Models with several inputs and outputs: training against Keras 3 (tests/reference/multi_io.json:
// a loss per output, loss_weights, per-output metrics, Keras' log names and evaluate order),
// data by list and by name, predict_outputs, the compile config in a .keras file, two mirrored
// replicas, and the errors for data or options that do not fit the model.
#include <gtest/gtest.h>

#include <optional>

#include "cli_util.h"
#include "data/data_test_files.h"
#include "kerosene/kerosene.h"
#include "test_util.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using test::expect_max_abs_diff;
using test::json;
using test_util::expect_error;
using test_util::run_in_fresh_process;
using test::floats_of;
using test::tensor_of;
using test::values_of;

struct TwoByTwo {
  Model model;
  Tensor xa, xb, y_cls, y_reg;
};

/// The reference's model (two inputs "a" and "b", outputs "cls" and "reg") with its initial weights.
TwoByTwo reference_model(const json& ref) {
  KerasTensor a = Input({4}, "a"), b = Input({3}, "b");
  KerasTensor h = layers::Concatenate(-1, "concat")({layers::Dense(5, layers::DenseOptions{.activation = "relu", .name = "hidden"})(a), b});
  KerasTensor cls = layers::Dense(3, layers::DenseOptions{.activation = "softmax", .name = "cls"})(h);
  KerasTensor reg = layers::Dense(1, layers::DenseOptions{.name = "reg"})(h);
  Model model({a, b}, {cls, reg}, "two_by_two");
  std::vector<Tensor> initial;
  for (const json& w : ref["initial_weights"]) initial.push_back(tensor_of(w));
  model.set_weights(initial);
  return {std::move(model), tensor_of(ref["x_a"]), tensor_of(ref["x_b"]), tensor_of(ref["y_cls"]), tensor_of(ref["y_reg"])};
}

CompileOptions reference_compile() {
  return {.loss = {"sparse_categorical_crossentropy", "mse"}, .loss_weights = {1.0f, 0.5f}, .metrics = {{"accuracy"}, {}}};
}

TEST(MultiIoTest, TrainsAsKerasDoesWithALossPerOutputAndLossWeights) {
  const json ref = test::load_reference("multi_io.json");
  TwoByTwo m = reference_model(ref);
  m.model.compile(optimizers::SGD({.learning_rate = 0.1f}), reference_compile());
  FitOptions fit{.batch_size = 4, .epochs = 2, .verbose = 0};
  fit.shuffle = false;
  const History h = m.model.fit({m.xa, m.xb}, {m.y_cls, m.y_reg}, fit);
  // Keras' names: the model's loss, each output's own loss, each output's metrics.
  ASSERT_EQ(h.history.size(), ref["history"].size());
  for (const auto& [name, values] : ref["history"].items()) {
    ASSERT_TRUE(h.history.count(name)) << name;
    expect_max_abs_diff(std::vector<float>(h.history.at(name).begin(), h.history.at(name).end()), floats_of(values), 2e-5,
                        "history " + name);
  }
  const std::vector<Tensor> weights = m.model.get_weights();
  ASSERT_EQ(weights.size(), ref["final_weights"].size());
  for (size_t i = 0; i < weights.size(); ++i) {
    expect_max_abs_diff(values_of(weights[i]), floats_of(ref["final_weights"][i]["values"]), 2e-5,
                        "weight " + std::to_string(i));
  }
  // evaluate in Keras' order, by position and by name.
  const EvaluateResult score = m.model.evaluate({m.xa, m.xb}, {m.y_cls, m.y_reg}, {.batch_size = 4, .verbose = 0});
  ASSERT_EQ(score.size(), ref["evaluate_list"].size());
  for (size_t i = 0; i < score.size(); ++i) EXPECT_NEAR(score[i], ref["evaluate_list"][i].get<double>(), 2e-5) << i;
  for (const auto& [name, value] : ref["evaluate_dict"].items()) EXPECT_NEAR(score[name], value.get<double>(), 2e-5) << name;
  EXPECT_NEAR(score.loss(), score["cls_loss"] + 0.5 * score["reg_loss"], 1e-5);
  // predict_outputs: one tensor per output; predict refuses to pick one.
  const std::vector<Tensor> p = m.model.predict_outputs({m.xa, m.xb});
  ASSERT_EQ(p.size(), 2u);
  expect_max_abs_diff(values_of(p[0]), floats_of(ref["predict_cls"]["values"]), 2e-5, "predict cls");
  expect_max_abs_diff(values_of(p[1]), floats_of(ref["predict_reg"]["values"]), 2e-5, "predict reg");
  EXPECT_THROW(m.model.predict({m.xa, m.xb}), ValueError);
}

TEST(MultiIoTest, DataByNameIsDataByPosition) {
  const json ref = test::load_reference("multi_io.json");
  TwoByTwo by_list = reference_model(ref), by_name = reference_model(ref);
  FitOptions fit{.batch_size = 4, .epochs = 1, .verbose = 0};
  fit.shuffle = false;
  by_list.model.compile(optimizers::SGD({.learning_rate = 0.1f}), reference_compile());
  by_name.model.compile(optimizers::SGD({.learning_rate = 0.1f}), reference_compile());
  by_list.model.fit({by_list.xa, by_list.xb}, {by_list.y_cls, by_list.y_reg}, fit);
  by_name.model.fit({{"b", by_name.xb}, {"a", by_name.xa}}, {{"reg", by_name.y_reg}, {"cls", by_name.y_cls}}, fit);
  const auto w1 = by_list.model.get_weights(), w2 = by_name.model.get_weights();
  for (size_t i = 0; i < w1.size(); ++i) EXPECT_EQ(values_of(w1[i]), values_of(w2[i])) << i;
}

TEST(MultiIoTest, OneLossForEveryOutputAndValidationData) {
  const json ref = test::load_reference("multi_io.json");
  TwoByTwo m = reference_model(ref);
  // One loss for both outputs (Keras applies it to each): both outputs regress here.
  const Tensor y_onehot = Tensor::zeros({12, 3});
  m.model.compile(optimizers::SGD({.learning_rate = 0.05f}), {.loss = {"mse"}});
  FitOptions fit{.batch_size = 4, .epochs = 1, .verbose = 0};
  fit.validation_data = std::make_pair(Tensors{m.xa, m.xb}, Tensors{y_onehot, m.y_reg});
  const History h = m.model.fit({m.xa, m.xb}, {y_onehot, m.y_reg}, fit);
  for (const char* key : {"loss", "cls_loss", "reg_loss", "val_loss", "val_cls_loss", "val_reg_loss"}) {
    EXPECT_TRUE(h.history.count(key)) << key;
  }
  EXPECT_NEAR(h.history.at("val_loss")[0], h.history.at("val_cls_loss")[0] + h.history.at("val_reg_loss")[0], 1e-5);
}

TEST(MultiIoTest, WrongDataAndOptionsNameWhatDoesNotFit) {
  const json ref = test::load_reference("multi_io.json");
  TwoByTwo m = reference_model(ref);
  expect_error<ValueError>([&] { m.model.compile(optimizers::SGD(), {.loss = {"mse", "mse", "mse"}}); },
                                 {"2 outputs", "cls, reg", "3 losses"});
  expect_error<ValueError>(
      [&] { m.model.compile(optimizers::SGD(), {.loss = {"mse"}, .loss_weights = {1.0f}}); }, {"1 loss_weights"});
  expect_error<ValueError>([&] { m.model.compile(optimizers::SGD(), "mse", {"accuracy"}); },
                                 {"2 outputs", "per output"});
  m.model.compile(optimizers::SGD(), reference_compile());
  expect_error<ValueError>([&] { m.model.fit(m.xa, {m.y_cls, m.y_reg}, {.verbose = 0}); },
                                 {"x holds 1 tensor", "2 inputs", "a, b"});
  expect_error<ValueError>([&] { m.model.fit({m.xa, m.xb.slice(0, 10)}, {m.y_cls, m.y_reg}, {.verbose = 0}); },
                                 {"x[1]", "10"});
  expect_error<ValueError>([&] { m.model.fit({m.xb, m.xa}, {m.y_cls, m.y_reg}, {.verbose = 0}); },
                                 {"x[0]", "(12, 3)"});
  expect_error<ValueError>([&] { m.model.fit({{"a", m.xa}, {"c", m.xb}}, {m.y_cls, m.y_reg}, {.verbose = 0}); },
                                 {"x[\"c\"]", "no input of that name", "a, b"});
  expect_error<ValueError>([&] { m.model.fit({m.xa, m.xb}, {m.y_cls}, {.verbose = 0}); },
                                 {"y holds 1 tensor", "2 outputs"});
  expect_error<ValueError>([&] { m.model.fit({m.xa, m.xb}, {m.y_reg, m.y_reg}, {.verbose = 0}); },
                                 {"y[0]", "not an integer"});
}

TEST(MultiIoTest, TheCompileConfigRoundTripsThroughAKerasFile) {
  const json ref = test::load_reference("multi_io.json");
  TwoByTwo m = reference_model(ref);
  m.model.compile(optimizers::SGD({.learning_rate = 0.1f}), reference_compile());
  data_testing::TempDir dir;
  const std::string path = dir / "two_by_two.keras";
  m.model.save(path);
  Model loaded = models::load_model(path);
  const auto& s = loaded.state();
  ASSERT_EQ(s.losses.size(), 2u);
  EXPECT_EQ(s.losses[0].name, "sparse_categorical_crossentropy");
  EXPECT_EQ(s.losses[1].name, "mean_squared_error");
  EXPECT_FLOAT_EQ(s.losses[1].weight, 0.5f);
  ASSERT_EQ(s.metrics.size(), 1u);
  EXPECT_EQ(s.metrics[0].log_name, "cls_accuracy");
  const EvaluateResult a = m.model.evaluate({m.xa, m.xb}, {m.y_cls, m.y_reg}, {.verbose = 0});
  const EvaluateResult b = loaded.evaluate({m.xa, m.xb}, {m.y_cls, m.y_reg}, {.verbose = 0});
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_DOUBLE_EQ(a[i], b[i]) << a.values[i].first;
}

TEST(MultiIoTest, TwoMirroredReplicasTrainAsOneDevice) {
  run_in_fresh_process([] {
    config::set_logical_device_configuration(config::list_physical_devices("CPU").at(0),
                                             std::vector<config::LogicalDeviceConfiguration>(2));
    const json ref = test::load_reference("multi_io.json");
    TwoByTwo single = reference_model(ref);
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    std::optional<TwoByTwo> mirrored;
    {
      auto scope = strategy.scope();
      mirrored.emplace(reference_model(ref));
    }
    FitOptions fit{.batch_size = 4, .epochs = 2, .verbose = 0};
    fit.shuffle = false;
    single.model.compile(optimizers::SGD({.learning_rate = 0.1f}), reference_compile());
    mirrored->model.compile(optimizers::SGD({.learning_rate = 0.1f}), reference_compile());
    const Tensors x{single.xa, single.xb}, y{single.y_cls, single.y_reg};
    const History h1 = single.model.fit(x, y, fit);
    const History h2 = mirrored->model.fit(x, y, fit);
    for (const auto& [name, values] : h1.history) {
      ASSERT_TRUE(h2.history.count(name)) << name;
      for (size_t e = 0; e < values.size(); ++e) EXPECT_NEAR(values[e], h2.history.at(name)[e], 1e-5) << name;
    }
    const auto w1 = single.model.get_weights(), w2 = mirrored->model.get_weights();
    for (size_t i = 0; i < w1.size(); ++i) expect_max_abs_diff(values_of(w2[i]), values_of(w1[i]), 1e-5, "weight");
    const auto p1 = single.model.predict_outputs(x), p2 = mirrored->model.predict_outputs(x);
    for (size_t o = 0; o < 2; ++o) expect_max_abs_diff(values_of(p2[o]), values_of(p1[o]), 1e-5, "predict");
  });
}

}  // namespace
}  // namespace kerosene
