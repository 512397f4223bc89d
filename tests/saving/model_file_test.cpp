// Sequential::save / load_model / save_weights / load_weights: round trips that continue
// training bit for bit, files Keras 3 wrote (tests/saving/keras_files, made by
// make_keras_files.py with Keras 3.15.1), and every kind of bad file.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>
#include <random>

#include "data/data_test_files.h"
#include "io/hdf5_file.h"
#include "io/zip_archive.h"
#include "kerosene/io.h"
#include "kerosene/kerosene.h"
#include "saving/config_fields.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

const std::string kKerasFiles = std::string(KEROSENE_SOURCE_DIR) + "/tests/saving/keras_files/";

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(0.0f, 1.0f);
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

Sequential small_cnn(const Optimizer& optimizer, bool dropout = true) {
  Sequential model({layers::Input({8, 8, 2}),
                    layers::Conv2D(4, {3, 3}, layers::Conv2DOptions{.padding = "same", .activation = "relu"}),
                    layers::MaxPooling2D({2, 2}),
                    layers::Conv2D(3, {2, 2}, layers::Conv2DOptions{.strides = {2, 2}, .activation = "tanh"}),
                    layers::AveragePooling2D({2, 2}),
                    layers::Flatten(),
                    layers::Dropout(dropout ? 0.25f : 0.0f),
                    layers::Dense(6, "sigmoid"),
                    layers::Reshape({3, 2}),
                    layers::Flatten(),
                    layers::Dense(5),
                    layers::Activation("softmax")});
  model.compile(optimizer, "sparse_categorical_crossentropy", {"accuracy"});
  return model;
}

void expect_same(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].shape(), b[i].shape()) << "weight " << i;
    EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << "weight " << i;
  }
}

FitOptions quiet(int epochs = 1) {
  FitOptions o;
  o.batch_size = 8;
  o.epochs = epochs;
  o.verbose = 0;
  o.shuffle = false;
  return o;
}

// Saving, loading and fitting on must give exactly what fitting on without the file gives:
// weights, optimizer slots, iteration count and learning rate all come back.
class RoundTrip : public ::testing::TestWithParam<const char*> {};

Optimizer optimizer_named(const std::string& name) {
  if (name == "sgd") return optimizers::SGD({.learning_rate = 0.05f, .momentum = 0.9f, .nesterov = true});
  if (name == "adam") return optimizers::Adam({.learning_rate = 0.003f});
  if (name == "adamw") return optimizers::AdamW({.learning_rate = 0.002f, .weight_decay = 0.01f});
  if (name == "rmsprop") return optimizers::RMSprop({.learning_rate = 0.002f, .momentum = 0.5f, .centered = true});
  return optimizers::SGD();
}

TEST_P(RoundTrip, FitContinuesExactlyAfterLoadModel) {
  TempDir dir;
  utils::set_random_seed(11);
  const Tensor x = random_tensor({24, 8, 8, 2}, 1);
  const Tensor y = labels(24, 5, 2);
  Sequential model = small_cnn(optimizer_named(GetParam()));
  model.fit(x, y, quiet());
  const std::string path = dir / "model.keras";
  model.save(path);

  Model loaded = models::load_model(path);
  EXPECT_EQ(loaded.name(), model.name());
  ASSERT_EQ(loaded.layers().size(), model.layers().size());
  for (size_t i = 0; i < model.layers().size(); ++i) {
    EXPECT_EQ(loaded.layers()[i].name(), model.layers()[i].name());
    EXPECT_EQ(loaded.layers()[i].class_name(), model.layers()[i].class_name());
  }
  expect_same(loaded.get_weights(), model.get_weights());
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  EXPECT_EQ(loaded.state().optimizer->iterations(), model.state().optimizer->iterations());
  EXPECT_EQ(loaded.state().optimizer->config().kind, model.state().optimizer->config().kind);

  // Dropout's draws are not in Keras' file (nor in Keras' own); without it, the original and
  // the loaded model must go on identically.
  Sequential plain = small_cnn(optimizer_named(GetParam()), /*dropout=*/false);
  plain.fit(x, y, quiet());
  plain.save(dir / "plain.keras");
  Model plain_loaded = models::load_model(dir / "plain.keras");
  plain.fit(x, y, quiet(2));
  plain_loaded.fit(x, y, quiet(2));
  expect_same(plain_loaded.get_weights(), plain.get_weights());
  EXPECT_EQ(plain_loaded.state().optimizer->iterations(), plain.state().optimizer->iterations());
  loaded.fit(x, y, quiet());
  EXPECT_EQ(loaded.state().optimizer->iterations(), 2 * model.state().optimizer->iterations());
}

TEST_P(RoundTrip, OptimizerStateIsWhatKeepsTrainingOnTrack) {
  // The same weights with a fresh optimizer must train differently from the saved state:
  // otherwise the test above would pass without the optimizer state.
  TempDir dir;
  utils::set_random_seed(12);
  const Tensor x = random_tensor({24, 8, 8, 2}, 3);
  const Tensor y = labels(24, 5, 4);
  Sequential model = small_cnn(optimizer_named(GetParam()), /*dropout=*/false);
  model.fit(x, y, quiet());
  model.save(dir / "m.keras");
  Model with_state = models::load_model(dir / "m.keras");
  Model without_state = models::load_model(dir / "m.keras", /*compile=*/false);
  without_state.compile(optimizer_named(GetParam()), "sparse_categorical_crossentropy", {"accuracy"});
  with_state.fit(x, y, quiet());
  without_state.fit(x, y, quiet());
  EXPECT_NE(with_state.get_weights()[0].to_vector<float>(), without_state.get_weights()[0].to_vector<float>());
}

INSTANTIATE_TEST_SUITE_P(Optimizers, RoundTrip, ::testing::Values("sgd", "adam", "adamw", "rmsprop"));

TEST(SaveWeights, RoundTripAndKerasLayout) {
  TempDir dir;
  utils::set_random_seed(3);
  Sequential a = small_cnn("adam");
  a.fit(random_tensor({8, 8, 8, 2}, 5), labels(8, 5, 6), quiet());
  a.save_weights(dir / "w.weights.h5");
  Sequential b = small_cnn("adam");
  b.build({8, 8, 2});
  b.load_weights(dir / "w.weights.h5");
  expect_same(b.get_weights(), a.get_weights());

  // Keras 3's tree: layers by snake_case class, numbered; the optimizer's iteration first.
  io::H5File f = io::H5File::open(dir / "w.weights.h5");
  const io::H5Group root = f.root();
  EXPECT_EQ(root.group("vars").string_attribute("name").value_or(""), a.name());
  const io::H5Group layers = root.group("layers");
  EXPECT_EQ(layers.members(), (std::vector<std::string>{"activation", "average_pooling2d", "conv2d", "conv2d_1", "dense",
                                                        "dense_1", "dropout", "flatten", "flatten_1", "max_pooling2d",
                                                        "reshape"}));
  EXPECT_EQ(layers.group("conv2d").group("vars").dataset_shape("0"), (std::vector<int64_t>{3, 3, 2, 4}));
  EXPECT_EQ(layers.group("conv2d_1").group("vars").dataset_shape("1"), (std::vector<int64_t>{3}));
  EXPECT_TRUE(layers.group("flatten").group("vars").members().empty());
  const io::H5Group opt = root.group("optimizer").group("vars");
  EXPECT_EQ(opt.dataset_shape("0"), std::vector<int64_t>{});
  EXPECT_EQ(opt.members().size(), 2u + 2u * a.state().variables().size());
}

TEST(SaveWeights, AnotherShapeNamesTheLayerAndBothShapes) {
  TempDir dir;
  Sequential a({layers::Input({4}), layers::Dense(3, layers::DenseOptions{.name = "hidden"}), layers::Dense(2)});
  a.save_weights(dir / "w.weights.h5");
  Sequential b({layers::Input({4}), layers::Dense(5, layers::DenseOptions{.name = "hidden"}), layers::Dense(2)});
  const auto before = b.get_weights();
  try {
    b.load_weights(dir / "w.weights.h5");
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    const std::string m = e.what();
    EXPECT_CONTAINS(m, "w.weights.h5");
    EXPECT_CONTAINS(m, "\"hidden\"");
    EXPECT_CONTAINS(m, "(4, 5)");
    EXPECT_CONTAINS(m, "(4, 3)");
  }
  expect_same(b.get_weights(), before);  // nothing half-loaded
}

TEST(SaveWeights, NamesMustEndAsKerasRequires) {
  TempDir dir;
  Sequential a({layers::Input({4}), layers::Dense(3)});
  EXPECT_THROW(a.save_weights(dir / "w.h5"), ValueError);
  EXPECT_THROW(a.save(dir / "m.h5"), ValueError);
  Sequential unbuilt({layers::Dense(3)});
  EXPECT_THROW(unbuilt.save(dir / "m.keras"), ValueError);
}

TEST(KerasArchive, MembersAndConfigAsKerasWritesThem) {
  TempDir dir;
  Sequential model = small_cnn(optimizers::Adam());
  model.save(dir / "m.keras");
  io::ZipReader zip(dir / "m.keras");
  EXPECT_EQ(zip.names(), (std::vector<std::string>{"metadata.json", "config.json", "model.weights.h5"}));
  const auto bytes = zip.read("config.json");
  const json config = json::parse(bytes.begin(), bytes.end());
  EXPECT_EQ(config["module"], "keras");
  EXPECT_EQ(config["class_name"], "Sequential");
  EXPECT_EQ(config["registered_name"], nullptr);
  const json& layer_list = config["config"]["layers"];
  EXPECT_EQ(layer_list[0]["class_name"], "InputLayer");
  EXPECT_EQ(layer_list[0]["config"]["batch_shape"], json({nullptr, 8, 8, 2}));
  const json& conv = layer_list[1];
  EXPECT_EQ(conv["module"], "keras.layers");
  EXPECT_EQ(conv["config"]["padding"], "same");
  EXPECT_EQ(conv["config"]["kernel_initializer"]["class_name"], "GlorotUniform");
  EXPECT_EQ(conv["build_config"]["input_shape"], json({nullptr, 8, 8, 2}));
  EXPECT_EQ(config["config"]["build_input_shape"], json({nullptr, 8, 8, 2}));
  const json& cc = config["compile_config"];
  EXPECT_EQ(cc["optimizer"]["class_name"], "Adam");
  EXPECT_EQ(cc["optimizer"]["config"]["learning_rate"].get<double>(), static_cast<double>(0.001f));
  EXPECT_EQ(cc["loss"], "sparse_categorical_crossentropy");
  EXPECT_EQ(cc["metrics"], json({"accuracy"}));
  EXPECT_EQ(json::parse(model.to_json()), config);
  // model_from_json gives the same architecture, freshly initialized and uncompiled.
  Model copy = models::model_from_json(model.to_json());
  EXPECT_EQ(copy.count_params(), model.count_params());
  EXPECT_FALSE(copy.state().compiled);
}

TEST(KerasFiles, KerasWrittenModelsPredictAsInKeras) {
  for (const std::string name : {"keras_cnn", "keras_mlp"}) {
    for (const std::string ext : {".keras", ".h5"}) {
      SCOPED_TRACE(name + ext);
      Model model = models::load_model(kKerasFiles + name + ext);
      const Tensor x = io::load_npy(kKerasFiles + name + ".x.npy");
      const std::vector<float> expected = io::load_npy(kKerasFiles + name + ".y.npy").to_vector<float>();
      const std::vector<float> got = model.predict(x).to_vector<float>();
      ASSERT_EQ(got.size(), expected.size());
      for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5f + 1e-5f * std::abs(expected[i])) << i;
      EXPECT_TRUE(model.state().compiled);
    }
  }
  // The .keras files carry the optimizer's state: iterations as Keras counted them.
  EXPECT_EQ(models::load_model(kKerasFiles + "keras_cnn.keras").state().optimizer->iterations(), 2);
  Model mlp = models::load_model(kKerasFiles + "keras_mlp.keras");
  EXPECT_EQ(mlp.state().optimizer->iterations(), 4);
  EXPECT_EQ(mlp.state().optimizer->config().kind, "Adam");
  EXPECT_FLOAT_EQ(mlp.state().optimizer->learning_rate, 0.01f);
  const Model cnn = models::load_model(kKerasFiles + "keras_cnn.keras");
  const auto c = cnn.state().optimizer->config();
  EXPECT_EQ(c.kind, "RMSprop");
  EXPECT_TRUE(c.centered);
  EXPECT_FLOAT_EQ(c.momentum, 0.5f);
}

TEST(KerasFiles, KerasWeightsLoadIntoAModelBuiltInKerosene) {
  Sequential model({layers::Input({6}), layers::Dense(7, "sigmoid"), layers::Reshape({7, 1}), layers::Flatten(),
                    layers::Dense(3, layers::DenseOptions{.use_bias = false})});
  model.load_weights(kKerasFiles + "keras_mlp.keras");
  const Tensor x = io::load_npy(kKerasFiles + "keras_mlp.x.npy");
  const auto expected = io::load_npy(kKerasFiles + "keras_mlp.y.npy").to_vector<float>();
  const auto got = model.predict(x).to_vector<float>();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5f) << i;
  Sequential legacy({layers::Input({6}), layers::Dense(7, "sigmoid"), layers::Reshape({7, 1}), layers::Flatten(),
                     layers::Dense(3, layers::DenseOptions{.use_bias = false})});
  legacy.load_weights(kKerasFiles + "keras_mlp.h5");
  expect_same(legacy.get_weights(), model.get_weights());
}

// --- Bad files ----------------------------------------------------------------------------------

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return "";
}

// A .keras archive whose config.json is `config` and whose weights are those of `source`.
void write_archive_with_config(const std::string& path, const json& config, const std::string& source) {
  io::ZipReader zip(source);
  const std::string text = config.dump();
  io::write_zip(path, {{"metadata.json", zip.read("metadata.json")},
                       {"config.json", std::vector<uint8_t>(text.begin(), text.end())},
                       {"model.weights.h5", zip.read("model.weights.h5")}});
}

json config_of(const std::string& path) {
  io::ZipReader zip(path);
  const auto bytes = zip.read("config.json");
  return json::parse(bytes.begin(), bytes.end());
}

TEST(BadFiles, UnknownLayerClassNamesFileLayerAndClass) {
  TempDir dir;
  const std::string source = kKerasFiles + "keras_mlp.keras";
  json config = config_of(source);
  config["config"]["layers"][1]["class_name"] = "LSTM";
  write_archive_with_config(dir / "lstm.keras", config, source);
  const std::string m = error_of([&] { models::load_model(dir / "lstm.keras"); });
  EXPECT_CONTAINS(m, "lstm.keras");
  EXPECT_CONTAINS(m, "\"" + config["config"]["layers"][1]["config"]["name"].get<std::string>() + "\"");
  EXPECT_CONTAINS(m, "LSTM");
}

TEST(BadFiles, UnsupportedOptionNamesFileLayerAndOption) {
  TempDir dir;
  const std::string source = kKerasFiles + "keras_mlp.keras";
  json config = config_of(source);
  config["config"]["layers"][1]["config"]["kernel_regularizer"] = {{"class_name", "L2"}, {"config", {{"l2", 0.01}}}};
  write_archive_with_config(dir / "l2.keras", config, source);
  std::string m = error_of([&] { models::load_model(dir / "l2.keras"); });
  EXPECT_CONTAINS(m, "l2.keras");
  EXPECT_CONTAINS(m, "\"" + config["config"]["layers"][1]["config"]["name"].get<std::string>() + "\"");
  EXPECT_CONTAINS(m, "kernel_regularizer");

  config = config_of(source);
  config["config"]["layers"][1]["config"]["made_up_option"] = 3;
  write_archive_with_config(dir / "extra.keras", config, source);
  m = error_of([&] { models::load_model(dir / "extra.keras"); });
  EXPECT_CONTAINS(m, "made_up_option");

  config = config_of(source);
  config["config"]["layers"][1]["config"]["activation"] = "mish";
  write_archive_with_config(dir / "mish.keras", config, source);
  m = error_of([&] { models::load_model(dir / "mish.keras"); });
  EXPECT_CONTAINS(m, "activation");
  EXPECT_CONTAINS(m, "mish");
}

TEST(BadFiles, WeightsThatDoNotFitTheConfig) {
  TempDir dir;
  const std::string source = kKerasFiles + "keras_mlp.keras";
  json config = config_of(source);
  config["config"]["layers"][4]["config"]["units"] = 9;  // the last Dense: (7, 3) in the file
  write_archive_with_config(dir / "units.keras", config, source);
  const std::string m = error_of([&] { models::load_model(dir / "units.keras"); });
  EXPECT_CONTAINS(m, "units.keras");
  EXPECT_CONTAINS(m, "(7, 9)");
  EXPECT_CONTAINS(m, "(7, 3)");
}

TEST(BadFiles, NotAModelTruncatedMissingMember) {
  TempDir dir;
  data_testing::write_file(dir / "text.keras", {'h', 'e', 'l', 'l', 'o'});
  EXPECT_CONTAINS(error_of([&] { models::load_model(dir / "text.keras"); }), "text.keras");
  EXPECT_CONTAINS(error_of([&] { models::load_model(dir / "missing.keras"); }), "missing.keras");

  std::ifstream in(kKerasFiles + "keras_cnn.keras", std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (size_t cut : {bytes.size() / 2, bytes.size() - 10, size_t{100}}) {
    data_testing::write_file(dir / "cut.keras", std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(cut)));
    EXPECT_CONTAINS(error_of([&] { models::load_model(dir / "cut.keras"); }), "cut.keras");
  }

  io::write_zip(dir / "nocfg.keras", {{"metadata.json", {'{', '}'}}});
  std::string m = error_of([&] { models::load_model(dir / "nocfg.keras"); });
  EXPECT_CONTAINS(m, "nocfg.keras");
  EXPECT_CONTAINS(m, "config.json");

  io::write_zip(dir / "badjson.keras", {{"config.json", {'{', 'x'}}});
  m = error_of([&] { models::load_model(dir / "badjson.keras"); });
  EXPECT_CONTAINS(m, "badjson.keras");
  EXPECT_CONTAINS(m, "JSON");

  // A weights file that is not HDF5.
  io::ZipReader zip(kKerasFiles + "keras_mlp.keras");
  io::write_zip(dir / "badweights.keras", {{"config.json", zip.read("config.json")}, {"model.weights.h5", {1, 2, 3, 4}}});
  m = error_of([&] { models::load_model(dir / "badweights.keras"); });
  EXPECT_CONTAINS(m, "badweights.keras");

  // An HDF5 file that is not a Keras model.
  io::H5File h5 = io::H5File::create();
  h5.root().create_group("something");
  h5.save(dir / "other.h5");
  m = error_of([&] { models::load_model(dir / "other.h5"); });
  EXPECT_CONTAINS(m, "other.h5");
  Sequential model({layers::Input({6}), layers::Dense(7)});
  m = error_of([&] { model.load_weights(dir / "other.h5"); });
  EXPECT_CONTAINS(m, "other.h5");
}

}  // namespace
}  // namespace kerosene
