// Keras 3's losses and regression metrics in fit/evaluate: "sum" reduction's logged loss (Keras'
// loss tracker weights each batch's value by its size), root_mean_squared_error from the
// summed squares, label smoothing through the fused softmax, and loss objects in the compile
// config (written as Keras writes them, read back by load_model).
#include <gtest/gtest.h>

#include <cmath>

#include "data/data_test_files.h"
#include "io/zip_archive.h"
#include "kerosene/kerosene.h"
#include "test_util.h"
#include "train/loss_catalog.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using json = nlohmann::json;

Sequential regressor(const std::string& loss, const std::vector<std::string>& metrics = {}) {
  utils::set_random_seed(7);
  Sequential model({layers::Input({3}), layers::Dense(2)});
  model.compile(optimizers::SGD(), loss, metrics);
  return model;
}

Tensor inputs() { return Tensor::from_vector(test::uniform_values(8 * 3, 1), {8, 3}); }
Tensor targets() { return Tensor::from_vector(test::uniform_values(8 * 2, 2), {8, 2}); }

TEST(LossesFit, SumReductionLogsBatchSumsWeightedByBatchSize) {
  Sequential mean = regressor("mse"), sum = regressor(losses::MeanSquaredError(losses::Reduction::sum));
  const double per_sample = mean.evaluate(inputs(), targets(), {.batch_size = 8, .verbose = 0}).loss();
  // One batch of 8: the batch's sum. Two of 4: each batch's sum, weighted by 4, over 8 samples.
  EXPECT_NEAR(sum.evaluate(inputs(), targets(), {.batch_size = 8, .verbose = 0}).loss(), 8 * per_sample, 1e-4);
  EXPECT_NEAR(sum.evaluate(inputs(), targets(), {.batch_size = 4, .verbose = 0}).loss(), 4 * per_sample, 1e-4);
}

TEST(LossesFit, SumReductionScalesTheGradientByTheBatch) {
  // SGD on the sum with learning rate lr/8 takes the step SGD on the mean takes with lr.
  Sequential mean = regressor("mse");
  utils::set_random_seed(7);
  Sequential sum({layers::Input({3}), layers::Dense(2)});
  sum.compile(optimizers::SGD({.learning_rate = 0.01f / 8}), "mse:reduction=sum");
  mean.fit(inputs(), targets(), {.batch_size = 8, .epochs = 1, .verbose = 0, .shuffle = false});
  sum.fit(inputs(), targets(), {.batch_size = 8, .epochs = 1, .verbose = 0, .shuffle = false});
  test::expect_close(sum.get_weights()[0], test::values_of(mean.get_weights()[0]), 1e-6, 1e-5, "kernel");
}

TEST(LossesFit, RegressionMetricsAndRootMeanSquaredError) {
  Sequential model = regressor("huber", {"mae", "mse", "root_mean_squared_error"});
  const EvaluateResult r = model.evaluate(inputs(), targets(), {.batch_size = 3, .verbose = 0});
  EXPECT_NEAR(r["root_mean_squared_error"], std::sqrt(r["mse"]), 1e-6);
  const Tensor predicted = model.predict(inputs());
  const auto p = test::values_of(predicted), t = test::values_of(targets());
  double abs_sum = 0, sq_sum = 0;
  for (size_t i = 0; i < p.size(); ++i) abs_sum += std::fabs(p[i] - t[i]), sq_sum += (p[i] - t[i]) * (p[i] - t[i]);
  EXPECT_NEAR(r["mae"], abs_sum / p.size(), 1e-5);
  EXPECT_NEAR(r["mse"], sq_sum / p.size(), 1e-5);
  EXPECT_EQ(r.values[1].first, "mae");
  EXPECT_EQ(r.values[3].first, "root_mean_squared_error");
}

TEST(LossesFit, EveryLossTrainsByNameAndByObject) {
  for (const char* name : {"mae", "huber", "log_cosh", "msle", "kld", "poisson", "hinge", "squared_hinge",
                           "cosine_similarity"}) {
    SCOPED_TRACE(name);
    utils::set_random_seed(3);
    Sequential model({layers::Input({3}), layers::Dense(2, "sigmoid")});
    model.compile(optimizers::Adam({.learning_rate = 0.05f}), name);
    const Tensor y = Tensor::from_vector(test::uniform_values(8 * 2, 4, 0.1f, 0.9f), {8, 2});
    const History h = model.fit(inputs(), y, {.batch_size = 4, .epochs = 20, .verbose = 0});
    EXPECT_LT(h.history.at("loss").back(), h.history.at("loss").front());
  }
}

TEST(LossesFit, LabelSmoothingThroughTheFusedSoftmax) {
  // The fused softmax + cross-entropy and the loss on probabilities agree with smoothing on.
  utils::set_random_seed(5);
  Sequential fused({layers::Input({3}), layers::Dense(4, "softmax")});
  fused.compile(optimizers::SGD(), losses::CategoricalCrossentropy({.label_smoothing = 0.2f}));
  ASSERT_TRUE(fused.state().fuse_activation_into_loss());
  const Tensor y = Tensor::from_vector(std::vector<float>{1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0,
                                                          0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1},
                                       {8, 4});
  const double loss = fused.evaluate(inputs(), y, {.verbose = 0}).loss();
  const auto p = test::values_of(fused.predict(inputs())), t = test::values_of(y);
  double expected = 0;
  for (size_t i = 0; i < p.size(); ++i) expected -= (t[i] * 0.8 + 0.2 / 4) * std::log(p[i]);
  EXPECT_NEAR(loss, expected / 8, 1e-5);
}

TEST(LossesFit, LossObjectsInTheCompileConfig) {
  TempDir dir;
  Sequential model({layers::Input({3}), layers::Dense(2)});
  model.compile(optimizers::Adam(), losses::Huber(2.0f, losses::Reduction::sum), {"mae", "root_mean_squared_error"});
  model.save(dir / "m.keras");
  io::ZipReader zip(dir / "m.keras");
  const auto bytes = zip.read("config.json");
  const json cc = json::parse(bytes.begin(), bytes.end())["compile_config"];
  EXPECT_EQ(cc["loss"]["module"], "keras.losses");
  EXPECT_EQ(cc["loss"]["class_name"], "Huber");
  EXPECT_EQ(cc["loss"]["config"]["name"], "huber_loss");
  EXPECT_EQ(cc["loss"]["config"]["reduction"], "sum");
  EXPECT_EQ(cc["loss"]["config"]["delta"], 2.0);
  EXPECT_EQ(cc["metrics"], json({"mae", "root_mean_squared_error"}));
  Model loaded = models::load_model(dir / "m.keras");
  const train::LossConfig& loss = loaded.state().losses.at(0);
  EXPECT_EQ(loss.kind, backends::LossKind::huber);
  EXPECT_FLOAT_EQ(loss.delta, 2.0f);
  EXPECT_EQ(loss.reduction, train::Reduction::sum);
  EXPECT_EQ(loaded.state().metrics.at(1).result, train::MetricResult::root_mean);

  // A name stays a name; label smoothing is written as the decimal given.
  Sequential named({layers::Input({3}), layers::Dense(2, "softmax")});
  named.compile(optimizers::Adam(), "kld");
  named.save(dir / "n.keras");
  io::ZipReader zn(dir / "n.keras");
  const auto nb = zn.read("config.json");
  EXPECT_EQ(json::parse(nb.begin(), nb.end())["compile_config"]["loss"], "kl_divergence");
  named.compile(optimizers::Adam(), losses::CategoricalCrossentropy({.label_smoothing = 0.1f}));
  named.save(dir / "s.keras");
  io::ZipReader zs(dir / "s.keras");
  const auto sb = zs.read("config.json");
  const json smoothed = json::parse(sb.begin(), sb.end())["compile_config"]["loss"];
  EXPECT_EQ(smoothed["config"]["label_smoothing"].dump(), "0.1");
  EXPECT_FLOAT_EQ(models::load_model(dir / "s.keras").state().losses.at(0).label_smoothing, 0.1f);
}

}  // namespace
}  // namespace kerosene
