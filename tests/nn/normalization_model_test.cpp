// BatchNormalization and LayerNormalization in a model: the moving statistics are weights the
// optimizer never sees (summary, optimizer state, a frozen momentum), fit trains with the batch's
// statistics while evaluate and predict use the moving ones, and saving keeps them in Keras'
// layout (.keras, .weights.h5, files Keras wrote, Keras' config keys and errors for options
// kerosene lacks).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "data/data_test_files.h"
#include "io/hdf5_file.h"
#include "io/zip_archive.h"
#include "kerosene/io.h"
#include "kerosene/kerosene.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

const std::string kKerasFiles = std::string(KEROSENE_SOURCE_DIR) + "/tests/saving/keras_files/";

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(shape.numel()));
  for (float& x : v) x = dist(rng);
  return Tensor::from_vector(v, shape);
}

FitOptions quiet(int epochs = 1, int batch_size = 4) {
  FitOptions o;
  o.batch_size = batch_size;
  o.epochs = epochs;
  o.verbose = 0;
  o.shuffle = false;
  return o;
}

// Conv2D (3 channels) -> BatchNormalization -> Flatten -> LayerNormalization -> Dense(2).
Sequential norm_model(double momentum = 0.9) {
  return Sequential({layers::Input({4, 4, 2}), layers::Conv2D(3, {3, 3}),
                     layers::BatchNormalization({.momentum = momentum}), layers::Flatten(),
                     layers::LayerNormalization(), layers::Dense(2)});
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an error";
  return "";
}

TEST(NormalizationModel, WeightsInKerasOrderAndSummaryCountsNonTrainable) {
  Sequential model = norm_model();
  const auto bn = model.layers()[1];
  EXPECT_EQ(bn.class_name(), "BatchNormalization");
  const auto weights = bn.get_weights();
  ASSERT_EQ(weights.size(), 4u);  // gamma, beta, moving_mean, moving_variance
  EXPECT_EQ(weights[0].to_vector<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(weights[1].to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(weights[2].to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(weights[3].to_vector<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(model.layers()[3].get_weights().size(), 2u);  // LayerNormalization: gamma, beta
  // conv 3*3*2*3+3 = 57, BN 4*3 = 12 (6 trainable), LN 2*12 = 24, dense 12*2+2 = 26.
  EXPECT_EQ(model.count_params(), 119);
  const std::string s = model.summary_string();
  EXPECT_CONTAINS(s, "Total params: 119 (476.00 B)\n");
  EXPECT_CONTAINS(s, "Trainable params: 113 (452.00 B)\n");
  EXPECT_CONTAINS(s, "Non-trainable params: 6 (24.00 B)\n");
  EXPECT_EQ(model.state().variables().size(), 8u);  // what the optimizer updates
  EXPECT_EQ(model.state().weights().size(), 10u);
}

TEST(NormalizationModel, OptimizerNeverTouchesTheMovingStatistics) {
  // momentum 1: the layer itself keeps the moving statistics as they are, so any change would
  // be the optimizer's (Adam with a large learning rate moves everything it is given).
  Sequential model = norm_model(/*momentum=*/1.0);
  model.compile(optimizers::Adam({.learning_rate = 0.5f}), "mse");
  const Tensor x = random_tensor({8, 4, 4, 2}, 1, 2.0f, 4.0f);  // batch mean far from 0
  const Tensor y = random_tensor({8, 2}, 2);
  const auto before = model.layers()[1].get_weights();
  model.fit(x, y, quiet(2));
  const auto after = model.layers()[1].get_weights();
  EXPECT_NE(after[0].to_vector<float>(), before[0].to_vector<float>());  // gamma trained
  EXPECT_EQ(after[2].to_vector<float>(), before[2].to_vector<float>());
  EXPECT_EQ(after[3].to_vector<float>(), before[3].to_vector<float>());
  // Adam's slots exist for the 8 trainable variables only.
  EXPECT_EQ(model.state().optimizer->slots(model.state().variables()).size(), 2u * 8u);
}

TEST(NormalizationModel, FitUsesBatchStatisticsEvaluateAndPredictTheMovingOnes) {
  // BatchNormalization alone: a fresh layer's moving statistics are 0 and 1, so inference is
  // x / sqrt(1 + epsilon), while training normalizes each batch to mean 0.
  Sequential model({layers::Input({2}), layers::BatchNormalization({.momentum = 0.5})});
  model.compile(optimizers::SGD({.learning_rate = 0.001f}), "mse");
  const Tensor x = random_tensor({4, 2}, 3, 5.0f, 7.0f);
  const std::vector<float> xv = x.to_vector<float>();
  const std::vector<float> p = model.predict(x).to_vector<float>();
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_NEAR(p[i], xv[i] / std::sqrt(1.001f), 1e-5) << i;
  EvaluateOptions eval;
  eval.verbose = 0;
  const double mse = model.evaluate(x, x, eval).loss();
  double expected = 0;
  for (size_t i = 0; i < xv.size(); ++i) expected += std::pow(xv[i] - p[i], 2) / xv.size();
  EXPECT_NEAR(mse, expected, 1e-6);
  EXPECT_EQ(model.layers()[0].get_weights()[2].to_vector<float>(), std::vector<float>(2, 0.0f));  // untouched

  // One fit step on the whole batch: the loss is that of the batch-normalized output (each
  // column to mean 0, variance ~1, so about mean(x^2) here, where inference gave ~0), and the
  // moving mean moves half-way (momentum 0.5) to the batch mean.
  const History h = model.fit(x, x, quiet(1, 4));
  double batch_loss = 0;
  std::vector<double> means(2, 0.0);
  for (int c = 0; c < 2; ++c) {
    double var = 0;
    for (int r = 0; r < 4; ++r) means[c] += xv[r * 2 + c] / 4.0;
    for (int r = 0; r < 4; ++r) var += std::pow(xv[r * 2 + c] - means[c], 2) / 4.0;
    for (int r = 0; r < 4; ++r) {
      batch_loss += std::pow(xv[r * 2 + c] - (xv[r * 2 + c] - means[c]) / std::sqrt(var + 1e-3), 2) / 8.0;
    }
  }
  EXPECT_GT(batch_loss, 20.0);
  EXPECT_NEAR(h.history.at("loss")[0], batch_loss, 1e-4 * batch_loss) << "fit did not use the batch's statistics";
  const auto moving_mean = model.layers()[0].get_weights()[2].to_vector<float>();
  EXPECT_NEAR(moving_mean[0], 0.5 * means[0], 1e-5);
  EXPECT_NEAR(moving_mean[1], 0.5 * means[1], 1e-5);
}

TEST(NormalizationModel, SaveAndLoadKeepTheMovingStatistics) {
  TempDir dir;
  utils::set_random_seed(4);
  Sequential model = norm_model();
  model.compile(optimizers::Adam({.learning_rate = 0.01f}), "mse");
  const Tensor x = random_tensor({8, 4, 4, 2}, 5, 1.0f, 3.0f);
  const Tensor y = random_tensor({8, 2}, 6);
  model.fit(x, y, quiet(2));
  const auto moving_mean = model.layers()[1].get_weights()[2].to_vector<float>();
  EXPECT_GT(std::fabs(moving_mean[0]), 0.1f) << "the moving mean should have moved from 0";

  model.save(dir / "m.keras");
  Model loaded = models::load_model(dir / "m.keras");
  const auto a = model.get_weights(), b = loaded.get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << "weight " << i;
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  EXPECT_EQ(loaded.state().optimizer->iterations(), 4);  // the state was read: slot count fits
  // Both go on identically (batch statistics, moving updates, Adam's slots).
  model.fit(x, y, quiet());
  loaded.fit(x, y, quiet());
  const auto c = model.get_weights(), d = loaded.get_weights();
  for (size_t i = 0; i < c.size(); ++i) EXPECT_EQ(c[i].to_vector<float>(), d[i].to_vector<float>()) << "weight " << i;

  // .weights.h5: Keras' groups and order (gamma, beta, moving_mean, moving_variance).
  model.save_weights(dir / "w.weights.h5");
  {
    io::H5File f = io::H5File::open(dir / "w.weights.h5");
    const io::H5Group bn = f.root().group("layers").group("batch_normalization").group("vars");
    EXPECT_EQ(bn.members(), (std::vector<std::string>{"0", "1", "2", "3"}));
    EXPECT_EQ(data::to_tensor(bn.read_dataset("2")).to_vector<float>(),
              model.layers()[1].get_weights()[2].to_vector<float>());
    EXPECT_EQ(f.root().group("layers").group("layer_normalization").group("vars").members().size(), 2u);
    // iterations, learning rate, then Adam's m and v of the 8 trainable variables.
    EXPECT_EQ(f.root().group("optimizer").group("vars").members().size(), 2u + 2u * 8u);
  }
  Sequential fresh = norm_model();
  fresh.load_weights(dir / "w.weights.h5");
  const auto e = fresh.get_weights(), g = model.get_weights();
  for (size_t i = 0; i < e.size(); ++i) EXPECT_EQ(e[i].to_vector<float>(), g[i].to_vector<float>()) << "weight " << i;
}

TEST(NormalizationModel, ConfigHasKerasKeys) {
  TempDir dir;
  Sequential model({layers::Input({5}), layers::BatchNormalization({.momentum = 0.8, .epsilon = 1e-5, .center = false}),
                    layers::LayerNormalization({.epsilon = 1e-4, .scale = false})});
  model.save(dir / "m.keras");
  io::ZipReader zip(dir / "m.keras");
  const auto bytes = zip.read("config.json");
  const json config = json::parse(bytes.begin(), bytes.end());
  const json& bn = config["config"]["layers"][1];
  EXPECT_EQ(bn["module"], "keras.layers");
  EXPECT_EQ(bn["class_name"], "BatchNormalization");
  std::vector<std::string> keys;
  for (const auto& [k, v] : bn["config"].items()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  // Keras 3.0's BatchNormalization.get_config() keys (later versions add renorm*).
  EXPECT_EQ(keys, (std::vector<std::string>{"axis", "beta_constraint", "beta_initializer", "beta_regularizer", "center",
                                            "dtype", "epsilon", "gamma_constraint", "gamma_initializer",
                                            "gamma_regularizer", "momentum", "moving_mean_initializer",
                                            "moving_variance_initializer", "name", "scale", "synchronized",
                                            "trainable"}));
  EXPECT_EQ(bn["config"]["axis"], -1);
  EXPECT_EQ(bn["config"]["momentum"], 0.8);
  EXPECT_EQ(bn["config"]["center"], false);
  EXPECT_EQ(bn["config"]["moving_variance_initializer"]["class_name"], "Ones");
  const json& ln = config["config"]["layers"][2]["config"];
  EXPECT_EQ(ln["axis"], json::array({-1}));
  EXPECT_EQ(ln["epsilon"], 1e-4);
  EXPECT_EQ(ln["scale"], false);
  EXPECT_EQ(ln["rms_scaling"], false);

  Model loaded = models::load_model(dir / "m.keras");
  EXPECT_EQ(loaded.layers()[0].get_weights().size(), 3u);  // gamma, moving_mean, moving_variance
  EXPECT_EQ(loaded.layers()[1].get_weights().size(), 1u);  // beta
  EXPECT_EQ(json::parse(loaded.to_json()), json::parse(model.to_json()));
}

// A .keras file whose config.json is `config`, with the weights of `source`.
void write_with_config(const std::string& path, const json& config, const std::string& source) {
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

TEST(NormalizationModel, UnsupportedOptionsAndAxesNameLayerAndOption) {
  TempDir dir;
  const std::string source = kKerasFiles + "keras_norm.keras";
  const json original = config_of(source);
  ASSERT_EQ(original["config"]["layers"][2]["class_name"], "BatchNormalization");
  ASSERT_EQ(original["config"]["layers"][6]["class_name"], "LayerNormalization");
  struct Bad {
    int layer;
    const char* key;
    json value;
    const char* expected;
  };
  const std::vector<Bad> bad = {{2, "renorm", true, "renorm"},
                                {2, "gamma_regularizer", {{"class_name", "L2"}}, "gamma_regularizer"},
                                {2, "synchronized", "yes", "synchronized"},
                                {2, "axis", 1, "axis=1"},  // a channel-first BatchNormalization
                                {6, "rms_scaling", true, "rms_scaling"},
                                {6, "axis", json::array({1, 2, 3}), "axis"}};
  for (const Bad& b : bad) {
    SCOPED_TRACE(b.key);
    json config = original;
    config["config"]["layers"][b.layer]["config"][b.key] = b.value;
    write_with_config(dir / "bad.keras", config, source);
    const std::string m = error_of([&] { models::load_model(dir / "bad.keras"); });
    EXPECT_CONTAINS(m, "bad.keras");
    EXPECT_CONTAINS(m, original["config"]["layers"][b.layer]["config"]["name"].get<std::string>());
    EXPECT_CONTAINS(m, b.expected);
  }
  // From the public factory: only the last axis.
  const std::string m = error_of([] {
    Sequential({layers::Input({4, 4, 3}), layers::BatchNormalization({.axis = 1, .name = "bn_first"})});
  });
  EXPECT_CONTAINS(m, "bn_first");
  EXPECT_CONTAINS(m, "axis=1");
  Sequential last({layers::Input({4, 4, 3}), layers::BatchNormalization({.axis = 3})});  // the last axis, counted
  EXPECT_EQ(last.count_params(), 12);
}

// Keras 3 writes "synchronized" in every BatchNormalization config (true only from its
// TensorFlow backend); kerosene keeps the option through a save and a load.
TEST(NormalizationModel, SynchronizedIsSavedAndReadBack) {
  TempDir dir;
  Sequential model({layers::Input({5}), layers::BatchNormalization({.synchronized = true}),
                    layers::BatchNormalization()});
  model.save(dir / "m.keras");
  const json layers_config = config_of(dir / "m.keras")["config"]["layers"];
  EXPECT_EQ(layers_config[1]["config"]["synchronized"], true);
  EXPECT_EQ(layers_config[2]["config"]["synchronized"], false);
  Model loaded = models::load_model(dir / "m.keras");
  EXPECT_EQ(json::parse(loaded.to_json()), json::parse(model.to_json()));
  loaded.save(dir / "again.keras");
  EXPECT_EQ(config_of(dir / "again.keras")["config"]["layers"][1]["config"]["synchronized"], true);
}

TEST(NormalizationModel, KerasFilesWithTrainedMovingStatisticsPredictAsInKeras) {
  const Tensor x = io::load_npy(kKerasFiles + "keras_norm.x.npy");
  const std::vector<float> expected = io::load_npy(kKerasFiles + "keras_norm.y.npy").to_vector<float>();
  for (const std::string ext : {".keras", ".h5"}) {
    SCOPED_TRACE(ext);
    Model model = models::load_model(kKerasFiles + "keras_norm" + ext);
    const std::vector<float> got = model.predict(x).to_vector<float>();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-5f + 1e-5f * std::abs(expected[i])) << i;
    const auto moving_variance = model.layers()[1].get_weights()[3].to_vector<float>();
    EXPECT_NE(moving_variance, std::vector<float>(3, 1.0f));
  }
  // Keras' optimizer state (Adam, slots for the trainable variables only) is read, not skipped.
  EXPECT_EQ(models::load_model(kKerasFiles + "keras_norm.keras").state().optimizer->iterations(), 4);
}

}  // namespace
}  // namespace kerosene
