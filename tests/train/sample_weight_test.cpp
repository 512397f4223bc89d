// Keras' sample_weight and class_weight against Keras 3 (tests/reference/sample_weight.json):
// each sample's loss and gradient times its weight, "sum_over_batch_size" still over the batch,
// metrics unweighted and weighted_metrics weighted; fit's validation_freq, validation_batch_size and validation_steps; two
// mirrored replicas; and the errors for weights that do not fit.
#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "test_util.h"

namespace kerosene {
namespace {

using test::expect_max_abs_diff;
using test::floats_of;
using test::json;
using test::tensor_of;
using test::values_of;
using test_util::expect_error;
using test_util::run_in_fresh_process;

/// The reference's model with its initial weights, compiled as the script compiles it.
Model reference_model(const json& ref, const std::string& loss, bool weighted_accuracy = false) {
  KerasTensor x = Input({4}, "x");
  KerasTensor h = layers::Dense(5, layers::DenseOptions{.activation = "relu", .name = "hidden"})(x);
  KerasTensor out = layers::Dense(3, layers::DenseOptions{.activation = "softmax", .name = "out"})(h);
  Model model(x, out, "weighted");
  std::vector<Tensor> initial;
  for (const json& w : ref["initial_weights"]) initial.push_back(tensor_of(w));
  model.set_weights(initial);
  CompileOptions options{.loss = {loss}, .metrics = {{"accuracy"}}};
  if (weighted_accuracy) options.weighted_metrics = {{"accuracy"}};
  model.compile(optimizers::SGD({.learning_rate = 0.1f}), options);
  return model;
}

Tensor one_hot(const Tensor& labels) {
  const std::vector<float> y = values_of(labels);
  std::vector<float> out(y.size() * 3, 0.0f);
  for (size_t i = 0; i < y.size(); ++i) out[i * 3 + static_cast<size_t>(y[i])] = 1.0f;
  return Tensor::from_vector(out, {static_cast<int64_t>(y.size()), 3});
}

/// History, weights and evaluate's values against the reference's case.
void expect_case(const json& expected, const History& h, Model& model, const EvaluateResult& score) {
  ASSERT_EQ(h.history.size(), expected["history"].size());
  for (const auto& [name, values] : expected["history"].items()) {
    ASSERT_TRUE(h.history.count(name)) << name;
    expect_max_abs_diff(std::vector<float>(h.history.at(name).begin(), h.history.at(name).end()), floats_of(values), 2e-5,
                        "history " + name);
  }
  const std::vector<Tensor> weights = model.get_weights();
  ASSERT_EQ(weights.size(), expected["final_weights"].size());
  for (size_t i = 0; i < weights.size(); ++i) {
    expect_max_abs_diff(values_of(weights[i]), floats_of(expected["final_weights"][i]["values"]), 2e-5,
                        "weight " + std::to_string(i));
  }
  for (const auto& [name, value] : expected["evaluate"].items()) EXPECT_NEAR(score[name], value.get<double>(), 2e-5) << name;
}

FitOptions no_shuffle(int batch_size) {
  FitOptions fit{.batch_size = batch_size, .epochs = 2, .verbose = 0};
  fit.shuffle = false;
  return fit;
}

TEST(SampleWeightTest, SampleWeightWithAValidationSplitTrainsAndEvaluatesAsKeras) {
  const json ref = test::load_reference("sample_weight.json");
  Model model = reference_model(ref, "sparse_categorical_crossentropy", /*weighted_accuracy=*/true);
  const Tensor x = tensor_of(ref["x"]), y = test::int_tensor_of(ref["y"]), w = tensor_of(ref["sample_weight"]);
  FitOptions fit = no_shuffle(5);
  fit.validation_split = 0.2f;
  fit.sample_weight = w;
  const History h = model.fit(x, y, fit);
  const EvaluateResult score = model.evaluate(x, y, {.batch_size = 4, .verbose = 0, .sample_weight = w});
  expect_case(ref["sample_weight_case"], h, model, score);
  // Keras' `metrics` are not weighted, its weighted_metrics are (each weight 1 without any).
  const EvaluateResult unweighted = model.evaluate(x, y, {.batch_size = 4, .verbose = 0});
  EXPECT_DOUBLE_EQ(score["accuracy"], unweighted["accuracy"]);
  for (const auto& [name, value] : ref["weighted_metrics_unweighted"].items()) {
    EXPECT_NEAR(unweighted[name], value.get<double>(), 2e-5) << name;
  }
  // weighted_metrics go into a .keras file's compile config and come back.
  test_util::ScratchDir dir;
  const std::string path = (dir.path() / "weighted.keras").string();
  model.save(path);
  Model loaded = models::load_model(path);
  const EvaluateResult again = loaded.evaluate(x, y, {.batch_size = 4, .verbose = 0, .sample_weight = w});
  ASSERT_EQ(again.size(), score.size());
  for (size_t i = 0; i < score.size(); ++i) EXPECT_NEAR(again[i], score[i], 1e-6) << score.values[i].first;
}

TEST(SampleWeightTest, ClassWeightOfIntegerLabelsTrainsAsKeras) {
  const json ref = test::load_reference("sample_weight.json");
  Model model = reference_model(ref, "sparse_categorical_crossentropy");
  const Tensor x = tensor_of(ref["x"]), y = test::int_tensor_of(ref["y"]);
  FitOptions fit = no_shuffle(5);
  fit.class_weight = {{0, 0.5f}, {2, 3.0f}};
  fit.validation_data = std::make_pair(Tensors(x.slice(12, 15)), Tensors(y.slice(12, 15)));
  const History h = model.fit(x.slice(0, 12), y.slice(0, 12), fit);
  expect_case(ref["class_weight_sparse"], h, model, model.evaluate(x, y, {.batch_size = 4, .verbose = 0}));
}

TEST(SampleWeightTest, ClassWeightOfOneHotLabelsTrainsAsKeras) {
  const json ref = test::load_reference("sample_weight.json");
  Model model = reference_model(ref, "categorical_crossentropy");
  const Tensor x = tensor_of(ref["x"]), y = one_hot(tensor_of(ref["y"]));
  FitOptions fit = no_shuffle(4);
  fit.class_weight = {{0, 2.0f}, {1, 0.25f}, {2, 1.5f}};
  const History h = model.fit(x, y, fit);
  expect_case(ref["class_weight_onehot"], h, model, model.evaluate(x, y, {.batch_size = 4, .verbose = 0}));
}

TEST(SampleWeightTest, ValidationFreqBatchSizeAndSteps) {
  const json ref = test::load_reference("sample_weight.json");
  Model model = reference_model(ref, "sparse_categorical_crossentropy");
  const Tensor x = tensor_of(ref["x"]), y = test::int_tensor_of(ref["y"]);
  FitOptions fit = no_shuffle(5);
  fit.epochs = 3;
  fit.validation_freq = 2;  // after the 2nd epoch only, as Keras' (epoch + 1) % 2 == 0
  fit.validation_data = std::make_pair(Tensors(x), Tensors(y));
  fit.validation_batch_size = 4;
  fit.validation_steps = 2;  // the first 8 samples
  const History h = model.fit(x, y, fit);
  EXPECT_EQ(h.history.at("loss").size(), 3u);
  ASSERT_EQ(h.history.at("val_loss").size(), 1u);
  // Validating after the last epoch too, with the same batches, gives what evaluate gives.
  FitOptions last = no_shuffle(5);
  last.epochs = 1;
  last.validation_data = fit.validation_data;
  last.validation_batch_size = 4;
  last.validation_steps = 2;
  Model again = reference_model(ref, "sparse_categorical_crossentropy");
  const History h1 = again.fit(x, y, last);
  const EvaluateResult score = again.evaluate(x.slice(0, 8), y.slice(0, 8), {.batch_size = 4, .verbose = 0});
  EXPECT_NEAR(h1.history.at("val_loss")[0], score.loss(), 1e-6);
  EXPECT_NEAR(h1.history.at("val_accuracy")[0], score["accuracy"], 1e-6);
}

TEST(SampleWeightTest, WeightsThatDoNotFitSayWhy) {
  const json ref = test::load_reference("sample_weight.json");
  Model model = reference_model(ref, "sparse_categorical_crossentropy");
  const Tensor x = tensor_of(ref["x"]), y = test::int_tensor_of(ref["y"]);
  FitOptions fit = no_shuffle(5);
  fit.sample_weight = Tensor::full({14}, 1.0f);
  expect_error<ValueError>([&] { model.fit(x, y, fit); }, {"sample_weight", "(15,)", "found shape (14,)"});
  expect_error<ValueError>([&] { model.evaluate(x, y, {.verbose = 0, .sample_weight = Tensor::full({15, 2}, 1.0f)}); },
                           {"sample_weight", "one weight per sample", "(15, 2)"});
  fit.sample_weight = Tensor::full({15}, 1.0f);
  fit.class_weight = {{0, 2.0f}};
  expect_error<ValueError>([&] { model.fit(x, y, fit); }, {"class_weight or sample_weight"});
  fit.sample_weight = Tensor();
  fit.class_weight = {{-1, 2.0f}};
  expect_error<ValueError>([&] { model.fit(x, y, fit); }, {"negative class index -1"});
  FitOptions freq = no_shuffle(5);
  freq.validation_freq = 0;
  expect_error<ValueError>([&] { model.fit(x, y, freq); }, {"validation_freq", "got 0"});

  KerasTensor in = Input({4});
  Model two(std::vector<KerasTensor>{in}, {layers::Dense(3)(in), layers::Dense(1)(in)});
  two.compile(optimizers::SGD(), {.loss = {"mse", "mse"}});
  FitOptions by_class = no_shuffle(5);
  by_class.class_weight = {{0, 2.0f}};
  expect_error<ValueError>([&] { two.fit(x, {Tensor::zeros({15, 3}), Tensor::zeros({15, 1})}, by_class); },
                           {"class_weight", "single output", "has 2"});
}

TEST(SampleWeightTest, TwoMirroredReplicasWeighAsOneDevice) {
  run_in_fresh_process([] {
    config::set_logical_device_configuration(config::list_physical_devices("CPU").at(0),
                                             std::vector<config::LogicalDeviceConfiguration>(2));
    const json ref = test::load_reference("sample_weight.json");
    Model single = reference_model(ref, "sparse_categorical_crossentropy", true);
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    std::optional<Model> mirrored;
    {
      auto scope = strategy.scope();
      mirrored.emplace(reference_model(ref, "sparse_categorical_crossentropy", true));
    }
    const Tensor x = tensor_of(ref["x"]), y = test::int_tensor_of(ref["y"]), w = tensor_of(ref["sample_weight"]);
    FitOptions fit = no_shuffle(5);  // 12 training rows: batches of 5, 5, 2, split 3/2 and 1/1
    fit.sample_weight = w;
    fit.validation_split = 0.2f;
    const History h1 = single.fit(x, y, fit);
    const History h2 = mirrored->fit(x, y, fit);
    for (const auto& [name, values] : h1.history) {
      ASSERT_TRUE(h2.history.count(name)) << name;
      for (size_t e = 0; e < values.size(); ++e) EXPECT_NEAR(values[e], h2.history.at(name)[e], 1e-5) << name;
    }
    const auto w1 = single.get_weights(), w2 = mirrored->get_weights();
    for (size_t i = 0; i < w1.size(); ++i) expect_max_abs_diff(values_of(w2[i]), values_of(w1[i]), 1e-5, "weight");
    const EvaluateOptions weighted{.batch_size = 5, .verbose = 0, .sample_weight = w};
    EXPECT_NEAR(single.evaluate(x, y, weighted).loss(), mirrored->evaluate(x, y, weighted).loss(), 1e-5);
  });
}

}  // namespace
}  // namespace kerosene
