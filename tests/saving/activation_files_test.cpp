// Keras 3's activations and activation layers in .keras files (beside model_file_test.cpp): the
// names and config keys Keras 3.15 writes (ReLU's max_value, negative_slope, threshold;
// LeakyReLU's negative_slope; Softmax's axis), round trips that predict and train on exactly,
// and what Keras 2 and older Keras 3 files spell differently.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/data_test_files.h"
#include "io/zip_archive.h"
#include "kerosene/kerosene.h"
#include "nn/simple_layers.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

// Every activation name and each activation layer, with parameters off their defaults.
Sequential activations_model() {
  Sequential model({layers::Input({4, 3}),
                    layers::Dense(5, "gelu"),
                    layers::Activation("swish"),
                    layers::ReLU({.max_value = 6.0f, .negative_slope = 0.1f, .threshold = 0.5f}),
                    layers::Dense(4, "leaky_relu"),
                    layers::LeakyReLU(),
                    layers::Softmax(1),
                    layers::Flatten(),
                    layers::Dense(6, "selu"),
                    layers::Dense(6, "elu"),
                    layers::Dense(6, "softplus"),
                    layers::LeakyReLU(0.05f),
                    layers::Dense(5, "hard_sigmoid"),
                    layers::ReLU(),
                    layers::Dense(3, "silu"),
                    layers::Softmax()});
  model.compile(optimizers::Adam({.learning_rate = 0.01f}), "categorical_crossentropy");
  return model;
}

Tensor inputs() {
  std::vector<float> v(8 * 12);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>((i * 37) % 23) / 11.0f - 1.0f;
  return Tensor::from_vector(v, {8, 4, 3});
}

Tensor targets() {
  std::vector<float> v(8 * 3, 0.0f);
  for (int i = 0; i < 8; ++i) v[i * 3 + i % 3] = 1.0f;
  return Tensor::from_vector(v, {8, 3});
}

FitOptions quiet() {
  FitOptions o;
  o.batch_size = 4;
  o.verbose = 0;
  o.shuffle = false;
  return o;
}

json layer_configs(const Sequential& model) { return json::parse(model.to_json())["config"]["layers"]; }

TEST(ActivationFiles, ConfigsAsKeras3WritesThem) {
  const json l = layer_configs(activations_model());  // [0] is the InputLayer
  EXPECT_EQ(l[1]["config"]["activation"], "gelu");
  EXPECT_EQ(l[2]["class_name"], "Activation");
  EXPECT_EQ(l[2]["config"]["activation"], "silu");  // Keras 3 serializes swish as silu
  EXPECT_EQ(l[3]["module"], "keras.layers");
  EXPECT_EQ(l[3]["class_name"], "ReLU");
  json relu = l[3]["config"];
  std::vector<std::string> keys;
  for (auto it = relu.begin(); it != relu.end(); ++it) keys.push_back(it.key());
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"dtype", "max_value", "name", "negative_slope", "threshold", "trainable"}));
  // The decimals a user writes, as Keras writes the Python floats it was given.
  EXPECT_EQ(relu["max_value"].dump(), "6.0");
  EXPECT_EQ(relu["negative_slope"].dump(), "0.1");
  EXPECT_EQ(relu["threshold"].dump(), "0.5");
  EXPECT_EQ(l[4]["config"]["activation"], "leaky_relu");
  EXPECT_EQ(l[5]["class_name"], "LeakyReLU");
  EXPECT_EQ(l[5]["config"]["negative_slope"].dump(), "0.3");  // the layer's default
  EXPECT_FALSE(l[5]["config"].contains("alpha"));
  EXPECT_EQ(l[6]["class_name"], "Softmax");
  EXPECT_EQ(l[6]["config"]["axis"], 1);
  EXPECT_EQ(l[8]["config"]["activation"], "selu");
  EXPECT_EQ(l[9]["config"]["activation"], "elu");
  EXPECT_EQ(l[10]["config"]["activation"], "softplus");
  EXPECT_EQ(l[11]["config"]["negative_slope"].dump(), "0.05");
  EXPECT_EQ(l[12]["config"]["activation"], "hard_sigmoid");
  EXPECT_EQ(l[13]["config"]["max_value"], nullptr);  // ReLU(): Keras' None
  EXPECT_EQ(l[13]["config"]["negative_slope"].dump(), "0.0");
  EXPECT_EQ(l[13]["config"]["threshold"].dump(), "0.0");
  EXPECT_EQ(l[14]["config"]["activation"], "silu");
  EXPECT_EQ(l[15]["config"]["axis"], -1);
  EXPECT_EQ(l[3]["config"]["name"].get<std::string>().rfind("re_lu", 0), 0u);  // Keras' snake_case names
  EXPECT_EQ(l[5]["config"]["name"].get<std::string>().rfind("leaky_re_lu", 0), 0u);
}

TEST(ActivationFiles, RoundTripPredictsAndTrainsOnExactly) {
  TempDir dir;
  utils::set_random_seed(21);
  const Tensor x = inputs(), y = targets();
  Sequential model = activations_model();
  model.fit(x, y, quiet());
  model.save(dir / "m.keras");
  Model loaded = models::load_model(dir / "m.keras");
  ASSERT_EQ(loaded.layers().size(), model.layers().size());
  for (size_t i = 0; i < model.layers().size(); ++i) {
    EXPECT_EQ(loaded.layers()[i].class_name(), model.layers()[i].class_name()) << i;
    EXPECT_EQ(loaded.layers()[i].name(), model.layers()[i].name()) << i;
  }
  EXPECT_EQ(loaded.to_json(), model.to_json());
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  model.fit(x, y, quiet());
  loaded.fit(x, y, quiet());
  for (size_t i = 0; i < model.get_weights().size(); ++i) {
    EXPECT_EQ(loaded.get_weights()[i].to_vector<float>(), model.get_weights()[i].to_vector<float>()) << "weight " << i;
  }
}

const nn::ActivationLayer& activation_layer(const Model& model, size_t i) {
  return dynamic_cast<const nn::ActivationLayer&>(*model.layers()[i].impl());
}

TEST(ActivationFiles, ReadsWhatOtherKerasVersionsWrite) {
  json config = json::parse(activations_model().to_json());
  json& l = config["config"]["layers"];
  l[3]["config"]["max_value"] = 6;               // an int, as Keras keeps ReLU(max_value=6)
  l[5]["config"].erase("negative_slope");        // Keras 2's key, which Keras 3 still takes
  l[5]["config"]["alpha"] = 0.25;
  l[6]["config"]["axis"] = json::array({1});     // a list of one axis
  l[11]["config"].erase("negative_slope");       // absent: the layer's default 0.3
  l[15]["config"].erase("axis");
  l[2]["config"]["activation"] = "swish";
  const Model model = models::model_from_json(config.dump());
  EXPECT_FLOAT_EQ(activation_layer(model, 2).params().max_value, 6.0f);
  EXPECT_FLOAT_EQ(activation_layer(model, 4).params().negative_slope, 0.25f);
  EXPECT_EQ(activation_layer(model, 5).params().axis, 1);
  EXPECT_FLOAT_EQ(activation_layer(model, 10).params().negative_slope, 0.3f);
  EXPECT_EQ(activation_layer(model, 14).params().axis, -1);
  EXPECT_EQ(activation_layer(model, 1).params().kind, backends::ActivationKind::silu);
}

std::string error_of(const std::string& config) {
  try {
    models::model_from_json(config);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return "";
}

TEST(ActivationFiles, RefusesWhatKeroseneCannotComputeAsWritten) {
  const json base = json::parse(activations_model().to_json());
  json config = base;
  config["config"]["layers"][3]["config"]["negative_slope"] = -0.5;
  std::string m = error_of(config.dump());
  EXPECT_CONTAINS(m, "negative_slope");
  EXPECT_CONTAINS(m, "ReLU");

  config = base;
  config["config"]["layers"][6]["config"]["axis"] = json::array({1, 2});
  EXPECT_CONTAINS(error_of(config.dump()), "axis");

  config = base;
  config["config"]["layers"][2]["config"]["activation"] = "mish";
  m = error_of(config.dump());
  EXPECT_CONTAINS(m, "mish");
  EXPECT_CONTAINS(m, "hard_sigmoid");  // the message lists the activations kerosene has

  // Keras 2's hard_sigmoid is another function (0.2 x + 0.5, clipped) than Keras 3's.
  config = base;
  config["keras_version"] = "2.15.0";
  m = error_of(config.dump());
  EXPECT_CONTAINS(m, "hard_sigmoid");
  EXPECT_CONTAINS(m, "Keras 2");
  config["config"]["layers"][12]["config"]["activation"] = "sigmoid";
  EXPECT_NO_THROW(models::model_from_json(config.dump()));
}

}  // namespace
}  // namespace kerosene
