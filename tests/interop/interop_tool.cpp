// The C++ half of the Keras 3 interop tests (tests/interop/run_keras_interop.sh drives it):
//   write DIR                        one small model per layer type and per optimizer x loss,
//                                    saved as DIR/<case>.keras with DIR/<case>.x.npy (input),
//                                    DIR/<case>.y.npy (kerosene's predictions) and
//                                    DIR/<case>.json (what the compile config must say)
//   predict MODEL X.npy OUT.npy      load_model(MODEL), predict X, write OUT
//   predict-weights JSON WEIGHTS X.npy OUT.npy
//                                    model_from_json(file JSON) + load_weights(WEIGHTS)
//   tensorboard DIR                  a short fit with TensorBoard and CSVLogger callbacks,
//                                    logs in DIR/logs, the CSV in DIR/log.csv
// Python (Keras, TensorBoard) checks the files; this program only writes and reads them.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kerosene/callbacks.h"
#include "kerosene/io.h"
#include "kerosene/layers.h"
#include "kerosene/losses.h"
#include "kerosene/models.h"
#include "kerosene/optimizers.h"
#include "kerosene/sequential.h"

namespace {

using namespace kerosene;
namespace fs = std::filesystem;
using json = nlohmann::json;

// Uniform in [-1, 1) from a fixed seed: the same files on every run.
Tensor random_tensor(const Shape& shape, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> values(static_cast<size_t>(shape.numel()));
  for (float& v : values) v = dist(gen);
  return Tensor::from_vector(values, shape);
}

std::string path_in(const fs::path& dir, const std::string& name, const std::string& suffix) {
  std::string file = name;
  file += suffix;
  return (dir / file).string();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Case {
  std::string name;
  Shape input;
  std::vector<Layer> layers;  // after the Input
};

layers::Conv2DOptions conv_options(const std::string& padding, std::pair<int, int> strides,
                                   const std::string& activation) {
  layers::Conv2DOptions o;
  o.padding = padding;
  o.strides = strides;
  o.activation = activation;
  return o;
}

layers::Pooling2DOptions pool_options(const std::string& padding, std::optional<std::pair<int, int>> strides) {
  layers::Pooling2DOptions o;
  o.padding = padding;
  o.strides = strides;
  return o;
}

// One model per layer type and option kerosene has (include/kerosene/layers.h). Uncompiled, so
// the empty compile config is checked too. The names are shared with keras_writes.py.
std::vector<Case> layer_cases() {
  using namespace layers;
  std::vector<Case> cases;
  for (const char* activation : {"linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "elu", "selu",
                                 "leaky_relu", "softplus", "hard_sigmoid"}) {
    std::string name = "dense_";
    name += activation;
    cases.push_back({name, {6}, {Dense(4, activation)}});
  }
  DenseOptions no_bias;
  no_bias.use_bias = false;
  no_bias.activation = "relu";
  cases.push_back({"dense_no_bias", {6}, {Dense(5, no_bias), Dense(3)}});
  cases.push_back({"conv2d_valid", {7, 7, 3}, {Conv2D(4, {3, 3}, conv_options("valid", {1, 1}, "relu"))}});
  cases.push_back({"conv2d_same", {7, 7, 3}, {Conv2D(4, {3, 3}, conv_options("same", {1, 1}, "tanh"))}});
  cases.push_back({"conv2d_strides", {8, 8, 2}, {Conv2D(3, {3, 2}, conv_options("valid", {2, 2}, "linear"))}});
  cases.push_back({"conv2d_same_strides", {7, 7, 2}, {Conv2D(3, {3, 3}, conv_options("same", {2, 2}, "sigmoid"))}});
  cases.push_back({"max_pooling2d", {6, 6, 2}, {MaxPooling2D({2, 2})}});
  cases.push_back({"max_pooling2d_same_strides", {7, 7, 2}, {MaxPooling2D({3, 3}, pool_options("same", std::pair{2, 2}))}});
  cases.push_back({"average_pooling2d", {6, 6, 2}, {AveragePooling2D({2, 2})}});
  cases.push_back(
      {"average_pooling2d_same_strides", {7, 7, 2}, {AveragePooling2D({3, 3}, pool_options("same", std::pair{2, 2}))}});
  cases.push_back({"flatten", {4, 4, 2}, {Flatten(), Dense(3)}});
  cases.push_back({"dropout", {6}, {Dense(5, "relu"), Dropout(0.5f), Dense(2)}});
  cases.push_back({"activation_relu", {6}, {Dense(4), Activation("relu")}});
  cases.push_back({"activation_softmax", {6}, {Dense(4), Activation("softmax")}});
  cases.push_back({"activation_swish", {6}, {Dense(4), Activation("swish")}});
  cases.push_back({"relu_layer", {6}, {Dense(4), ReLU({.max_value = 0.5f, .negative_slope = 0.1f, .threshold = 0.05f})}});
  cases.push_back({"relu_layer_defaults", {6}, {Dense(4), ReLU()}});
  cases.push_back({"leaky_relu_layer", {6}, {Dense(4), LeakyReLU()}});
  cases.push_back({"softmax_layer", {6}, {Dense(4), Softmax()}});
  cases.push_back({"softmax_layer_axis", {2, 3}, {Dense(4), Softmax(1)}});
  cases.push_back({"reshape", {12}, {Reshape({2, 2, 3}), Conv2D(2, {2, 2}), Reshape({-1}), Dense(2)}});
  cases.push_back({"batch_normalization", {4, 4, 3},
                   {Conv2D(3, {2, 2}), BatchNormalization({.momentum = 0.8}), Flatten(), Dense(2)}});
  cases.push_back({"layer_normalization", {6},
                   {Dense(5), LayerNormalization({.epsilon = 1e-4}), Dense(2, "softmax")}});
  cases.push_back({"conv2d_dilated", {9, 8, 2}, {Conv2D(3, 3, {.dilation_rate = 2, .activation = "relu"})}});
  cases.push_back({"conv2d_dilated_same", {7, 8, 2}, {Conv2D(3, 2, {.padding = "same", .dilation_rate = {3, 2}})}});
  cases.push_back({"conv2d_int_sizes", {8, 8, 2}, {Conv2D(3, 3, {.strides = 2}), MaxPooling2D(2), AveragePooling2D(1, {.strides = 1})}});
  cases.push_back({"global_average_pooling2d", {5, 4, 3}, {GlobalAveragePooling2D(), Dense(2)}});
  cases.push_back({"global_average_pooling2d_keepdims", {5, 4, 3}, {GlobalAveragePooling2D({.keepdims = true})}});
  cases.push_back({"global_max_pooling2d", {5, 4, 3}, {GlobalMaxPooling2D(), Dense(2)}});
  cases.push_back({"global_max_pooling2d_keepdims", {5, 4, 3}, {GlobalMaxPooling2D({.keepdims = true})}});
  cases.push_back({"zero_padding2d", {4, 5, 2}, {ZeroPadding2D(), Conv2D(2, 3)}});
  cases.push_back({"zero_padding2d_asymmetric", {4, 5, 2}, {ZeroPadding2D({{1, 2}, {0, 3}})}});
  cases.push_back({"cropping2d", {6, 7, 2}, {Cropping2D({{1, 0}, {2, 1}})}});
  cases.push_back({"cropping2d_int", {6, 7, 2}, {Cropping2D(2), Conv2D(2, 2)}});
  cases.push_back({"up_sampling2d", {3, 4, 2}, {UpSampling2D()}});
  cases.push_back({"up_sampling2d_2x3", {3, 4, 2}, {UpSampling2D({2, 3}), Conv2D(2, 3)}});
  cases.push_back({"rescaling", {4, 3}, {Rescaling(1.0 / 255)}});
  cases.push_back({"rescaling_offset", {6}, {Rescaling(0.5, -1.0), Dense(3)}});
  cases.push_back({"depthwise_conv2d", {7, 6, 3}, {DepthwiseConv2D(3, {.activation = "relu"})}});
  cases.push_back({"depthwise_conv2d_dm2_same_strides", {7, 6, 3},
                   {DepthwiseConv2D(3, {.strides = 2, .padding = "same", .depth_multiplier = 2}), Dense(2)}});
  cases.push_back({"depthwise_conv2d_dilated_no_bias", {8, 7, 2},
                   {DepthwiseConv2D({2, 3}, {.depth_multiplier = 3, .dilation_rate = 2, .use_bias = false})}});
  cases.push_back({"separable_conv2d", {6, 7, 3}, {SeparableConv2D(4, 3, {.activation = "relu"})}});
  cases.push_back({"separable_conv2d_dm2_same_strides", {7, 6, 2},
                   {SeparableConv2D(3, 3, {.strides = {2, 1}, .padding = "same", .depth_multiplier = 2}),
                    GlobalAveragePooling2D(), Dense(2)}});
  cases.push_back({"separable_conv2d_dilated_no_bias", {8, 8, 2},
                   {SeparableConv2D(4, 2, {.dilation_rate = {2, 3}, .activation = "tanh", .use_bias = false})}});
  cases.push_back({"convnet", {8, 8, 1},
                   {Conv2D(4, {3, 3}, "relu"), MaxPooling2D(), Conv2D(4, {2, 2}, conv_options("same", {1, 1}, "relu")),
                    AveragePooling2D(), Flatten(), Dropout(0.25f), Dense(3, "softmax")}});
  return cases;
}

// The normalization layers' weights start as constants (gamma 1, beta 0, moving mean 0 and
// variance 1), under which a swapped or unread weight would not show: random ones instead.
void randomize_normalization(Sequential& model, uint32_t seed) {
  for (Layer layer : model.layers()) {
    if (layer.class_name() != "BatchNormalization" && layer.class_name() != "LayerNormalization") continue;
    std::vector<Tensor> weights = layer.get_weights();
    for (size_t i = 0; i < weights.size(); ++i) {
      std::vector<float> v = random_tensor(weights[i].shape(), seed++).to_vector<float>();
      if (i == 3) {
        for (float& e : v) e = 1.0f + 0.5f * e;  // BatchNormalization's moving_variance: in [0.5, 1.5)
      }
      weights[i] = Tensor::from_vector(v, weights[i].shape());
    }
    layer.set_weights(weights);
  }
}

Sequential with_input(const Case& c) {
  std::vector<Layer> stack{layers::Input(c.input)};
  stack.insert(stack.end(), c.layers.begin(), c.layers.end());
  Sequential model(stack);
  randomize_normalization(model, 100);
  return model;
}

struct TrainedCase {
  std::string name;
  Optimizer optimizer;
  json optimizer_expected;  // Keras class name and the hyperparameters it must read back
  std::string loss;
  std::vector<std::string> metrics;
  bool from_logits = false;
};

// Every optimizer with settings off their defaults (so a default silently written is caught),
// times every loss. Optimizers are made per case: a handle shares its state.
std::vector<TrainedCase> trained_cases() {
  struct Loss {
    const char* tag;
    const char* name;
    std::vector<std::string> metrics;
  };
  const std::vector<Loss> losses = {{"scce", "sparse_categorical_crossentropy", {"accuracy"}},
                                    {"cce", "categorical_crossentropy", {"categorical_accuracy"}},
                                    {"bce", "binary_crossentropy", {"binary_accuracy"}},
                                    {"mse", "mean_squared_error", {}}};
  const std::vector<std::string> optimizer_tags = {"sgd", "adam", "adamw", "rmsprop"};
  auto make = [](const std::string& tag, json& expected) -> Optimizer {
    if (tag == "sgd") {
      expected = {{"class_name", "SGD"}, {"learning_rate", 0.02}, {"momentum", 0.9}, {"nesterov", false}};
      return optimizers::SGD({.learning_rate = 0.02f, .momentum = 0.9f});
    }
    if (tag == "adam") {
      expected = {{"class_name", "Adam"}, {"learning_rate", 0.002}, {"beta_1", 0.8}, {"beta_2", 0.99}, {"epsilon", 1e-6}};
      return optimizers::Adam({.learning_rate = 0.002f, .beta_1 = 0.8f, .beta_2 = 0.99f, .epsilon = 1e-6f});
    }
    if (tag == "adamw") {
      expected = {{"class_name", "AdamW"}, {"learning_rate", 0.003}, {"weight_decay", 0.01}, {"beta_1", 0.9},
                  {"beta_2", 0.999}, {"epsilon", 1e-7}};
      return optimizers::AdamW({.learning_rate = 0.003f, .weight_decay = 0.01f});
    }
    if (tag == "rmsprop") {
      expected = {{"class_name", "RMSprop"}, {"learning_rate", 0.002}, {"rho", 0.8}, {"momentum", 0.5},
                  {"epsilon", 1e-7}, {"centered", true}};
      return optimizers::RMSprop({.learning_rate = 0.002f, .rho = 0.8f, .momentum = 0.5f, .centered = true});
    }
    // The optimizers and options of Keras 3's base optimizer added later (mse only).
    if (tag == "nadam") {
      expected = {{"class_name", "Nadam"}, {"learning_rate", 0.003}, {"beta_1", 0.8}, {"clipvalue", 0.5}};
      return optimizers::Nadam({.learning_rate = 0.003f, .beta_1 = 0.8f, .clipvalue = 0.5f});
    }
    if (tag == "adamax") {
      expected = {{"class_name", "Adamax"}, {"learning_rate", 0.004}, {"beta_2", 0.99}, {"weight_decay", 0.02}};
      return optimizers::Adamax({.learning_rate = 0.004f, .beta_2 = 0.99f, .weight_decay = 0.02f});
    }
    if (tag == "adagrad") {
      expected = {{"class_name", "Adagrad"}, {"learning_rate", 0.05}, {"initial_accumulator_value", 0.2},
                  {"global_clipnorm", 1.5}};
      return optimizers::Adagrad({.learning_rate = 0.05f, .initial_accumulator_value = 0.2f, .global_clipnorm = 1.5f});
    }
    if (tag == "lion") {
      expected = {{"class_name", "Lion"}, {"learning_rate", 0.0005}, {"beta_1", 0.85}, {"beta_2", 0.98}};
      return optimizers::Lion({.learning_rate = 0.0005f, .beta_1 = 0.85f, .beta_2 = 0.98f});
    }
    if (tag == "adam_amsgrad") {
      expected = {{"class_name", "Adam"}, {"learning_rate", 0.002}, {"amsgrad", true}, {"clipnorm", 0.7}};
      return optimizers::Adam({.learning_rate = 0.002f, .amsgrad = true, .clipnorm = 0.7f});
    }
    if (tag == "sgd_schedule") {
      // A schedule comes back as Keras' own serialization of it, compared as a whole.
      expected = {{"class_name", "SGD"},
                  {"momentum", 0.5},
                  {"learning_rate",
                   {{"module", "keras.optimizers.schedules"},
                    {"class_name", "ExponentialDecay"},
                    {"config",
                     {{"initial_learning_rate", 0.1}, {"decay_steps", 10}, {"decay_rate", 0.5}, {"staircase", true},
                      {"name", "ExponentialDecay"}}},
                    {"registered_name", nullptr}}}};
      return optimizers::SGD({.learning_rate = optimizers::schedules::ExponentialDecay(0.1f, 10, 0.5f, true),
                              .momentum = 0.5f});
    }
    expected = {{"class_name", "AdamW"},
                {"learning_rate",
                 {{"module", "keras.optimizers.schedules"},
                  {"class_name", "CosineDecay"},
                  {"config",
                   {{"initial_learning_rate", 0.0}, {"decay_steps", 20}, {"alpha", 0.1}, {"name", "CosineDecay"},
                    {"warmup_target", 0.01}, {"warmup_steps", 5}}},
                  {"registered_name", nullptr}}},
                {"amsgrad", true}};
    return optimizers::AdamW(
        {.learning_rate = optimizers::schedules::CosineDecay(0.0f, 20, 0.1f, 0.01f, 5), .amsgrad = true});
  };
  std::vector<TrainedCase> cases;
  for (const char* tag : {"nadam", "adamax", "adagrad", "lion", "adam_amsgrad", "sgd_schedule", "adamw_schedule"}) {
    json expected;
    Optimizer optimizer = make(tag, expected);
    cases.push_back({std::string(tag) + "_mse", optimizer, expected, "mean_squared_error", {}});
  }
  for (const auto& tag : optimizer_tags) {
    for (const auto& loss : losses) {
      json expected;
      Optimizer optimizer = make(tag, expected);
      std::string name = tag;
      name += "_";
      name += loss.tag;
      cases.push_back({name, optimizer, expected, loss.name, loss.metrics});
    }
  }
  // Logits: the loss is then a loss object with from_logits=true in Keras' config.
  json expected;
  Optimizer optimizer = make("sgd", expected);
  cases.push_back({"sgd_scce_logits", optimizer, expected, "sparse_categorical_crossentropy", {"accuracy"}, true});
  return cases;
}

// Targets for 8 samples and 3 outputs in the form each loss wants.
Tensor targets(const std::string& loss, uint32_t seed) {
  std::mt19937 gen(seed);
  if (loss == "sparse_categorical_crossentropy") {
    std::vector<int32_t> labels(8);
    for (auto& l : labels) l = static_cast<int32_t>(gen() % 3);
    return Tensor::from_vector(labels, {8});
  }
  std::vector<float> values(24, 0.0f);
  for (int i = 0; i < 8; ++i) {
    if (loss == "categorical_crossentropy") {
      values[i * 3 + gen() % 3] = 1.0f;
    } else {
      for (int j = 0; j < 3; ++j) {
        values[i * 3 + j] = loss == "binary_crossentropy" ? static_cast<float>(gen() % 2) : static_cast<float>(gen() % 100) / 50.0f - 1.0f;
      }
    }
  }
  return Tensor::from_vector(values, {8, 3});
}

std::string output_activation(const TrainedCase& c) {
  if (c.from_logits || c.loss == "mean_squared_error") return "linear";
  return c.loss == "binary_crossentropy" ? "sigmoid" : "softmax";
}

// Functional models (the names are shared with keras_writes.py): a residual block, every merge
// layer, a shared layer and concatenation along two axes.
struct FunctionalCase {
  std::string name;
  Model model;
  Shape input;
};

std::vector<FunctionalCase> functional_cases() {
  using namespace layers;
  std::vector<FunctionalCase> cases;
  {
    auto in = kerosene::Input({6});
    auto h = Dense(8, "relu")(in);
    auto out = Dense(3, "softmax")(Add()(std::vector<KerasTensor>{h, Dense(8)(h)}));
    cases.push_back({"functional_residual", Model(in, out), {6}});
  }
  {
    auto in = kerosene::Input({6});
    auto a = Dense(5, "tanh")(in);
    auto b = Dense(5, "sigmoid")(in);
    auto sub = Subtract()(std::vector<KerasTensor>{a, b});
    auto mul = Multiply()(std::vector<KerasTensor>{a, b, sub});
    auto avg = Average()(std::vector<KerasTensor>{a, b});
    auto mx = Maximum()(std::vector<KerasTensor>{a, b});
    auto mn = Minimum()(std::vector<KerasTensor>{a, b, avg});
    auto add = Add()(std::vector<KerasTensor>{sub, mul});
    auto out = Dense(3)(Concatenate()(std::vector<KerasTensor>{add, avg, mx, mn}));
    cases.push_back({"functional_merges", Model(in, out), {6}});
  }
  {
    auto in = kerosene::Input({4, 4, 2});
    layers::Conv2DOptions same;
    same.padding = "same";
    same.activation = "relu";
    Layer shared = Conv2D(2, {3, 3}, same);
    auto c1 = shared(in);
    auto c2 = shared(c1);
    auto rows = Concatenate(1)(std::vector<KerasTensor>{c1, c2});
    auto channels = Concatenate(-1)(std::vector<KerasTensor>{c1, c2});
    auto out = Dense(2)(Concatenate()(std::vector<KerasTensor>{Flatten()(rows), Flatten()(channels)}));
    cases.push_back({"functional_shared", Model(in, out), {4, 4, 2}});
  }
  return cases;
}

// The expectations and the input first: a case whose model kerosene fails to save is then
// still listed, and reported, by keras_reads_kerosene.py.
bool save_case(Model& model, const fs::path& dir, const std::string& name, const Tensor& x, const json& expected) {
  try {
    write_text(path_in(dir, name, ".json"), expected.dump(2));
    io::save_npy(path_in(dir, name, ".x.npy"), x);
    io::save_npy(path_in(dir, name, ".y.npy"), model.predict(x));
    model.save(path_in(dir, name, ".keras"));
    return true;
  } catch (const std::exception& e) {
    std::cerr << "interop_tool: " << name << ": " << e.what() << "\n";
    return false;
  }
}

// Two inputs ("a", "b") and two outputs ("cls", "reg"), compiled with a loss per output,
// loss_weights and per-output metrics, and trained: <case>.x0.npy, .x1.npy, .y0.npy, .y1.npy.
bool write_two_by_two(const fs::path& dir, uint32_t& seed) {
  const std::string name = "functional_two_by_two";
  try {
    auto a = kerosene::Input({6}, "a"), b = kerosene::Input({3}, "b");
    auto h = layers::Concatenate()({layers::Dense(5, "relu")(a), b});
    auto cls = layers::Dense(3, layers::DenseOptions{.activation = "softmax", .name = "cls"})(h);
    auto reg = layers::Dense(1, layers::DenseOptions{.name = "reg"})(h);
    Model model({a, b}, {cls, reg}, name);
    model.compile(optimizers::Adam(), {.loss = {"sparse_categorical_crossentropy", "mean_squared_error"},
                                       .loss_weights = {1.0f, 0.5f},
                                       .metrics = {{"accuracy"}, {}}});
    const Tensor xa = random_tensor({8, 6}, seed++), xb = random_tensor({8, 3}, seed++);
    FitOptions options;
    options.batch_size = 4;
    options.verbose = 0;
    options.shuffle = false;
    model.fit({xa, xb}, {targets("sparse_categorical_crossentropy", seed++), random_tensor({8, 1}, seed++)}, options);
    const json expected = {{"compiled", true},
                           {"optimizer", {{"class_name", "Adam"}, {"learning_rate", 0.001}}},
                           {"loss", {"sparse_categorical_crossentropy", "mean_squared_error"}},
                           {"loss_weights", {1.0, 0.5}},
                           {"metrics", json::array({json::array({"accuracy"}), json::array()})},
                           {"from_logits", false},
                           {"iterations", 2}};
    write_text(path_in(dir, name, ".json"), expected.dump(2));
    io::save_npy(path_in(dir, name, ".x0.npy"), xa);
    io::save_npy(path_in(dir, name, ".x1.npy"), xb);
    const std::vector<Tensor> ys = model.predict_outputs({xa, xb});
    io::save_npy(path_in(dir, name, ".y0.npy"), ys[0]);
    io::save_npy(path_in(dir, name, ".y1.npy"), ys[1]);
    model.save(path_in(dir, name, ".keras"));
    return true;
  } catch (const std::exception& e) {
    std::cerr << "interop_tool: " << name << ": " << e.what() << "\n";
    return false;
  }
}

// Keras' other losses as loss objects with options (losses::...) and by name, with the
// regression metrics: Keras must read back each class and option (expected "loss_object").
bool write_loss_objects(const fs::path& dir, uint32_t& seed) {
  struct ObjectCase {
    const char* name;
    std::string loss;
    std::vector<std::string> metrics;
    const char* activation;
    json expected_loss;  // a name, or {"class_name", "config": the options Keras must read}
  };
  const std::vector<ObjectCase> cases = {
      {"kerosene_huber_object", losses::Huber(2.0f), {"mae", "root_mean_squared_error"}, "linear",
       {{"class_name", "Huber"}, {"config", {{"reduction", "sum_over_batch_size"}}}, {"delta", 2.0}}},
      {"kerosene_cce_smoothing_sum",
       losses::CategoricalCrossentropy({.label_smoothing = 0.1f, .reduction = losses::Reduction::sum}),
       {"categorical_accuracy"}, "softmax",
       {{"class_name", "CategoricalCrossentropy"},
        {"config", {{"label_smoothing", 0.1}, {"reduction", "sum"}, {"from_logits", false}}}}},
      {"kerosene_bce_logits_smoothing", losses::BinaryCrossentropy({.from_logits = true, .label_smoothing = 0.2f}),
       {"binary_accuracy"}, "linear",
       {{"class_name", "BinaryCrossentropy"}, {"config", {{"label_smoothing", 0.2}, {"from_logits", true}}}}},
      {"kerosene_log_cosh_name", "log_cosh", {"mse"}, "linear", "log_cosh"},
      {"kerosene_kld_object", losses::KLDivergence(), {}, "softmax", {{"class_name", "KLDivergence"}}},
      {"kerosene_cosine_object", losses::CosineSimilarity(), {}, "linear", {{"class_name", "CosineSimilarity"}}},
      {"kerosene_hinge_name", "squared_hinge", {}, "tanh", "squared_hinge"},
  };
  bool ok = true;
  for (const ObjectCase& c : cases) {
    Sequential model({layers::Input({6}), layers::Dense(8, "relu"), layers::Dense(3, c.activation)});
    model.compile(optimizers::Adam(), c.loss, c.metrics);
    FitOptions options;
    options.batch_size = 4;
    options.verbose = 0;
    options.shuffle = false;
    const Tensor x = random_tensor({8, 6}, seed++);
    model.fit(x, targets("categorical_crossentropy", seed++), options);
    json expected = {{"compiled", true},
                     {"optimizer", {{"class_name", "Adam"}, {"learning_rate", 0.001}}},
                     {"loss", "categorical_crossentropy"},  // the targets Keras fits it with
                     {"loss_object", c.expected_loss},
                     {"metrics", c.metrics},
                     {"from_logits", false},
                     {"iterations", 2}};
    ok = save_case(model, dir, c.name, x, expected) && ok;
  }
  return ok;
}

int write_mode(const fs::path& dir) {
  fs::create_directories(dir);
  utils::set_random_seed(1234);
  uint32_t seed = 1;
  int failures = 0;
  for (const Case& c : layer_cases()) {
    Sequential model = with_input(c);
    Shape batch{5};  // five samples
    for (int i = 0; i < c.input.rank(); ++i) batch.push_back(c.input[i]);
    failures += !save_case(model, dir, c.name, random_tensor(batch, seed++), json{{"compiled", false}});
  }
  {
    // Keras 3 reads "synchronized" but refuses true outside its TensorFlow backend: its own
    // error, naming the option, is what keras_reads_kerosene.py expects there.
    using namespace layers;
    Sequential model = with_input({"batch_normalization_synchronized", {4, 4, 3},
                                   {Conv2D(3, {2, 2}), BatchNormalization({.momentum = 0.8, .synchronized = true}),
                                    Flatten(), Dense(2)}});
    failures += !save_case(model, dir, "batch_normalization_synchronized", random_tensor({5, 4, 4, 3}, seed++),
                           json{{"compiled", false}, {"keras_refuses_outside_tensorflow", "synchronized=True"}});
  }
  for (const TrainedCase& c : trained_cases()) {
    Sequential model({layers::Input({6}), layers::Dense(8, "relu"), layers::Dense(3, output_activation(c))});
    model.compile(c.optimizer, c.loss, c.metrics, c.from_logits);
    FitOptions options;
    options.batch_size = 4;  // 8 samples: two steps, so the optimizer has state to save
    options.epochs = 1;
    options.verbose = 0;
    options.shuffle = false;
    const Tensor x = random_tensor({8, 6}, seed++);
    model.fit(x, targets(c.loss, seed++), options);
    json expected = {{"compiled", true},     {"optimizer", c.optimizer_expected}, {"loss", c.loss},
                     {"metrics", c.metrics}, {"from_logits", c.from_logits},      {"iterations", 2}};
    failures += !save_case(model, dir, c.name, x, expected);
  }
  failures += !write_loss_objects(dir, seed);
  for (FunctionalCase& c : functional_cases()) {
    const Tensor x = random_tensor(c.input.with_batch(8), seed++);
    json expected = {{"compiled", false}};
    if (c.name == "functional_residual") {  // compiled and trained: the optimizer state goes along
      c.model.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
      FitOptions options;
      options.batch_size = 4;
      options.verbose = 0;
      options.shuffle = false;
      c.model.fit(x, targets("sparse_categorical_crossentropy", seed++), options);
      expected = {{"compiled", true},
                  {"optimizer", {{"class_name", "Adam"}, {"learning_rate", 0.001}, {"beta_1", 0.9}}},
                  {"loss", "sparse_categorical_crossentropy"}, {"metrics", {"accuracy"}},
                  {"from_logits", false}, {"iterations", 2}};
    }
    failures += !save_case(c.model, dir, c.name, x, expected);
  }
  failures += !write_two_by_two(dir, seed);
  return failures == 0 ? 0 : 1;
}

// "a.npy,b.npy": one file per model input (or output), in the model's order.
std::vector<std::string> comma_list(const std::string& paths) {
  std::vector<std::string> out;
  std::stringstream in(paths);
  for (std::string p; std::getline(in, p, ',');) out.push_back(p);
  return out;
}

void predict_into(Model& model, const std::string& x_paths, const std::string& out_paths) {
  std::vector<Tensor> xs;
  for (const std::string& p : comma_list(x_paths)) xs.push_back(io::load_npy(p));
  const std::vector<Tensor> ys = model.predict_outputs(xs);
  const std::vector<std::string> outs = comma_list(out_paths);
  if (outs.size() != ys.size()) {
    throw ValueError("the model has " + std::to_string(ys.size()) + " outputs, " + std::to_string(outs.size()) +
                     " files were named");
  }
  for (size_t i = 0; i < ys.size(); ++i) io::save_npy(outs[i], ys[i]);
}

int predict_mode(const std::string& model_path, const std::string& x_path, const std::string& out_path) {
  Model model = models::load_model(model_path);
  predict_into(model, x_path, out_path);
  return 0;
}

int predict_weights_mode(const std::string& json_path, const std::string& weights_path, const std::string& x_path,
                         const std::string& out_path) {
  Model model = models::model_from_json(read_text(json_path));
  model.load_weights(weights_path);
  predict_into(model, x_path, out_path);
  return 0;
}

// The fit of tests/train/tensorboard_csv_test.cpp: train and validation runs, 3 epochs of 3
// batches, and a CSV of the same values for tensorboard_reads_kerosene.py to compare with.
int tensorboard_mode(const fs::path& dir) {
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto data = [](int64_t n, int offset) {
    std::vector<float> x(n * 4);
    std::vector<int32_t> y(n);
    for (int64_t i = 0; i < n; ++i) {
      y[i] = static_cast<int32_t>((i + offset) % 3);
      for (int j = 0; j < 4; ++j) x[i * 4 + j] = static_cast<float>((i * 7 + j * 3 + offset) % 5) / 5.0f + (j == y[i] ? 1.0f : 0.0f);
    }
    return std::pair{Tensor::from_vector(x, {n, 4}), Tensor::from_vector(y, {n})};
  };
  Sequential model({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(3, "softmax")});
  model.compile(optimizers::SGD({.learning_rate = 0.05f}), "sparse_categorical_crossentropy", {"accuracy"});
  auto [x, y] = data(12, 0);
  FitOptions options;
  options.epochs = 3;
  options.batch_size = 4;
  options.verbose = 0;
  options.validation_data = data(6, 1);
  options.callbacks = {std::make_shared<callbacks::TensorBoard>((dir / "logs").string()),
                       std::make_shared<callbacks::CSVLogger>((dir / "log.csv").string())};
  model.fit(x, y, options);
  return 0;
}

int usage() {
  std::cerr << "usage: interop_tool write DIR | predict MODEL X.npy[,X2.npy...] OUT.npy[,OUT2.npy...] |"
               " predict-weights JSON WEIGHTS X.npy OUT.npy | tensorboard DIR\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.size() == 2 && args[0] == "write") return write_mode(args[1]);
    if (args.size() == 4 && args[0] == "predict") return predict_mode(args[1], args[2], args[3]);
    if (args.size() == 5 && args[0] == "predict-weights") return predict_weights_mode(args[1], args[2], args[3], args[4]);
    if (args.size() == 2 && args[0] == "tensorboard") return tensorboard_mode(args[1]);
  } catch (const std::exception& e) {
    // One line the Python side shows as the case's failure.
    std::cerr << "interop_tool: " << e.what() << "\n";
    return 1;
  }
  return usage();
}
