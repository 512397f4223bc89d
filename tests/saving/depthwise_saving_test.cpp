// DepthwiseConv2D and SeparableConv2D in files: a .keras round trip (config, weights, predictions,
// training that goes on exactly), to_json / model_from_json, and the .weights.h5 groups Keras 3
// writes for them (layers/depthwise_conv2d/vars/{0,1}, layers/separable_conv2d/vars/{0,1,2}).
#include <gtest/gtest.h>

#include <random>

#include "data/data_test_files.h"
#include "data/array.h"
#include "io/hdf5_file.h"
#include "io/zip_archive.h"
#include "kerosene/kerosene.h"
#include "saving/config_fields.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape);
}

// A MobileNet-like stack: 9x8x3 -> depthwise (dm 2, strides 2, same) 5x4x6 -> separable
// (dilated, same) 5x4x8 -> separable without bias (dm 3) 4x3x4 -> global average -> dense.
Sequential depthwise_model() {
  Sequential model({layers::Input({9, 8, 3}),
                    layers::DepthwiseConv2D(3, {.strides = 2, .padding = "same", .depth_multiplier = 2,
                                                .activation = "relu"}),
                    layers::SeparableConv2D(8, 3, {.padding = "same", .dilation_rate = 2, .activation = "tanh"}),
                    layers::SeparableConv2D(4, 2, {.depth_multiplier = 3, .use_bias = false}),
                    layers::GlobalAveragePooling2D(),
                    layers::Dense(3, "softmax")});
  model.compile(optimizers::Adam({.learning_rate = 0.01f}), "sparse_categorical_crossentropy", {"accuracy"});
  return model;
}

FitOptions quiet(int epochs = 1) {
  FitOptions o;
  o.batch_size = 4;
  o.epochs = epochs;
  o.verbose = 0;
  o.shuffle = false;
  return o;
}

Tensor labels(int64_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = static_cast<int32_t>(i % 3);
  return Tensor::from_vector(v, Shape{n});
}

void expect_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << "weight " << i;
}

TEST(DepthwiseLayersSaving, LoadModelGivesTheSameModelAndTrainingGoesOnExactly) {
  TempDir dir;
  utils::set_random_seed(3);
  const Tensor x = random_tensor({12, 9, 8, 3}, 1);
  const Tensor y = labels(12);
  Sequential model = depthwise_model();
  EXPECT_EQ(model.layers()[0].output_shape(), Shape({5, 4, 6}));
  EXPECT_EQ(model.layers()[1].output_shape(), Shape({5, 4, 8}));
  EXPECT_EQ(model.layers()[2].output_shape(), Shape({4, 3, 4}));
  model.fit(x, y, quiet());
  model.save(dir / "dw.keras");

  Model loaded = models::load_model(dir / "dw.keras");
  ASSERT_EQ(loaded.layers().size(), model.layers().size());
  for (size_t i = 0; i < model.layers().size(); ++i) {
    EXPECT_EQ(loaded.layers()[i].class_name(), model.layers()[i].class_name());
    EXPECT_EQ(loaded.layers()[i].output_shape(), model.layers()[i].output_shape());
  }
  EXPECT_EQ(json::parse(loaded.to_json()), json::parse(model.to_json()));
  expect_same(loaded.get_weights(), model.get_weights());
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  model.fit(x, y, quiet(2));
  loaded.fit(x, y, quiet(2));
  expect_same(loaded.get_weights(), model.get_weights());
}

TEST(DepthwiseLayersSaving, ToJsonRoundTripsTheConfig) {
  Sequential model = depthwise_model();
  Model again = models::model_from_json(model.to_json());  // the architecture; not compiled (as Keras)
  EXPECT_EQ(json::parse(again.to_json())["config"], json::parse(model.to_json())["config"]);
  EXPECT_EQ(again.count_params(), model.count_params());
  const json layers_json = json::parse(model.to_json())["config"]["layers"];
  const json& d = layers_json[1];
  EXPECT_EQ(d["class_name"], "DepthwiseConv2D");
  EXPECT_EQ(d["module"], "keras.layers");
  EXPECT_EQ(d["config"]["depth_multiplier"], 2);
  EXPECT_EQ(d["config"]["strides"], json({2, 2}));
  EXPECT_EQ(d["config"]["padding"], "same");
  EXPECT_EQ(d["config"]["depthwise_initializer"]["class_name"], "GlorotUniform");
  const json& s = layers_json[2];
  EXPECT_EQ(s["class_name"], "SeparableConv2D");
  EXPECT_EQ(s["config"]["filters"], 8);
  EXPECT_EQ(s["config"]["dilation_rate"], json({2, 2}));
  EXPECT_EQ(s["config"]["pointwise_initializer"]["class_name"], "GlorotUniform");
  EXPECT_EQ(layers_json[3]["config"]["use_bias"], false);
  EXPECT_EQ(layers_json[3]["config"]["depth_multiplier"], 3);
}

TEST(DepthwiseLayersSaving, WeightsFileHasKerasGroupsAndShapes) {
  TempDir dir;
  Sequential model = depthwise_model();
  model.save_weights(dir / "w.weights.h5");
  io::H5File f = io::H5File::open(dir / "w.weights.h5");
  const io::H5Group layers_group = f.root().group("layers");
  const io::H5Group d = layers_group.group("depthwise_conv2d").group("vars");
  EXPECT_EQ(d.members(), (std::vector<std::string>{"0", "1"}));
  EXPECT_EQ(data::to_tensor(d.read_dataset("0")).shape(), Shape({3, 3, 3, 2}));
  EXPECT_EQ(data::to_tensor(d.read_dataset("1")).shape(), Shape({6}));
  const io::H5Group s = layers_group.group("separable_conv2d").group("vars");
  EXPECT_EQ(s.members(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(data::to_tensor(s.read_dataset("0")).to_vector<float>(), model.layers()[1].get_weights()[0].to_vector<float>());
  EXPECT_EQ(data::to_tensor(s.read_dataset("1")).shape(), Shape({1, 1, 6, 8}));
  EXPECT_EQ(data::to_tensor(s.read_dataset("2")).shape(), Shape({8}));
  const io::H5Group s1 = layers_group.group("separable_conv2d_1").group("vars");
  EXPECT_EQ(s1.members(), (std::vector<std::string>{"0", "1"}));  // no bias
  EXPECT_EQ(data::to_tensor(s1.read_dataset("1")).shape(), Shape({1, 1, 24, 4}));

  Sequential fresh = depthwise_model();
  fresh.load_weights(dir / "w.weights.h5");
  expect_same(fresh.get_weights(), model.get_weights());
}

}  // namespace
}  // namespace kerosene
