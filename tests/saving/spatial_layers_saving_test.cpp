// .keras round trips of GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D,
// UpSampling2D, Rescaling and dilated Conv2D: the loaded model has the same config, weights and
// predictions, trains on exactly as the original, and its config.json holds Keras' keys.
#include <gtest/gtest.h>

#include <random>

#include "data/data_test_files.h"
#include "io/zip_archive.h"
#include "kerosene/kerosene.h"
#include "saving/config_fields.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(0.0f, 255.0f);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape);
}

Tensor labels(int64_t n, int classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (auto& x : v) x = static_cast<int32_t>(rng() % classes);
  return Tensor::from_vector(v, Shape{n});
}

// Every new layer in one model: 10x9x2 -> pad 11x12 -> dilated conv 7x8 -> crop 5x6 -> up 10x6
// -> pool 5x3 -> conv 4x2 -> global average -> dense.
Sequential spatial_model() {
  Sequential model({layers::Input({10, 9, 2}),
                    layers::Rescaling(1.0 / 127.5, -1.0),
                    layers::ZeroPadding2D({{1, 0}, {2, 1}}),
                    layers::Conv2D(4, 3, {.dilation_rate = 2, .activation = "relu"}),
                    layers::Cropping2D(1),
                    layers::UpSampling2D({2, 1}),
                    layers::MaxPooling2D(2),
                    layers::Conv2D(3, 2, "tanh"),
                    layers::GlobalAveragePooling2D(),
                    layers::Dense(5, "softmax")});
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

void expect_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << "weight " << i;
}

json config_of(const std::string& path) {
  io::ZipReader zip(path);
  const auto bytes = zip.read("config.json");
  return json::parse(bytes.begin(), bytes.end());
}

TEST(SpatialLayersSaving, LoadModelGivesTheSameModelAndTrainingGoesOnExactly) {
  TempDir dir;
  utils::set_random_seed(5);
  const Tensor x = random_tensor({12, 10, 9, 2}, 1);
  const Tensor y = labels(12, 5, 2);
  Sequential model = spatial_model();
  EXPECT_EQ(model.layers()[2].output_shape(), Shape({7, 8, 4}));
  EXPECT_EQ(model.layers()[4].output_shape(), Shape({10, 6, 4}));
  model.fit(x, y, quiet());
  model.save(dir / "spatial.keras");

  Model loaded = models::load_model(dir / "spatial.keras");
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

TEST(SpatialLayersSaving, ConfigHoldsKerasKeysAndValues) {
  TempDir dir;
  Sequential model = spatial_model();
  model.save(dir / "m.keras");
  const json layers_json = config_of(dir / "m.keras")["config"]["layers"];
  auto config = [&](size_t i, const std::string& class_name) {
    EXPECT_EQ(layers_json[i]["class_name"], class_name);
    EXPECT_EQ(layers_json[i]["module"], "keras.layers");
    return layers_json[i]["config"];
  };
  json c = config(1, "Rescaling");
  EXPECT_EQ(c["scale"].get<double>(), 1.0 / 127.5);  // the double given, not its float32
  EXPECT_EQ(c["offset"].get<double>(), -1.0);
  c = config(2, "ZeroPadding2D");
  EXPECT_EQ(c["padding"], json({{1, 0}, {2, 1}}));
  EXPECT_EQ(c["data_format"], "channels_last");
  c = config(3, "Conv2D");
  EXPECT_EQ(c["kernel_size"], json({3, 3}));
  EXPECT_EQ(c["dilation_rate"], json({2, 2}));
  c = config(4, "Cropping2D");
  EXPECT_EQ(c["cropping"], json({{1, 1}, {1, 1}}));
  c = config(5, "UpSampling2D");
  EXPECT_EQ(c["size"], json({2, 1}));
  EXPECT_EQ(c["interpolation"], "nearest");
  c = config(6, "MaxPooling2D");
  EXPECT_EQ(c["pool_size"], json({2, 2}));
  EXPECT_EQ(c["strides"], json({2, 2}));
  c = config(8, "GlobalAveragePooling2D");
  EXPECT_EQ(c["keepdims"], false);
  EXPECT_EQ(c["data_format"], "channels_last");
  // Keras' default name (with a process-wide counter's suffix).
  EXPECT_EQ(c["name"].get<std::string>().rfind("global_average_pooling2d", 0), 0u) << c["name"];
}

TEST(SpatialLayersSaving, GlobalMaxPoolingKeepdimsRoundTrips) {
  TempDir dir;
  Sequential model({layers::Input({6, 5, 3}), layers::Conv2D(4, 3, layers::Conv2DOptions{.padding = "same"}),
                    layers::GlobalMaxPooling2D({.keepdims = true}), layers::Flatten(), layers::Dense(2)});
  EXPECT_EQ(model.layers()[1].output_shape(), Shape({1, 1, 4}));
  model.save(dir / "g.keras");
  EXPECT_EQ(config_of(dir / "g.keras")["config"]["layers"][2]["config"]["keepdims"], true);
  Model loaded = models::load_model(dir / "g.keras");
  const Tensor x = random_tensor({3, 6, 5, 3}, 3);
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  EXPECT_EQ(loaded.layers()[1].output_shape(), Shape({1, 1, 4}));
}

}  // namespace
}  // namespace kerosene
