// train_on_batch, test_on_batch, predict_on_batch and model(x, training): each is the same as a
// fit, evaluate or predict of one batch holding every row, and returns that batch's values.
#include <gtest/gtest.h>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "test_util.h"

namespace kerosene {
namespace {

using test_util::expect_error;

struct Data {
  Tensor x, y;
};

Data data(int64_t n, uint64_t seed) {
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7 + seed) % 3);
  return {Tensor::from_vector(test::uniform_values(n * 5, seed), {n, 5}), Tensor::from_vector(labels, {n})};
}

Sequential model_with_dropout(uint64_t seed) {
  utils::set_random_seed(seed);
  Sequential m({layers::Input({5}), layers::Dense(8, "relu"), layers::Dropout(0.5f), layers::Dense(3, "softmax")});
  m.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
  return m;
}

TEST(BatchCallsTest, TrainOnBatchIsAFitOfOneBatch) {
  const Data d = data(12, 1);
  Sequential a = model_with_dropout(5), b = model_with_dropout(5);
  const EvaluateResult first = a.train_on_batch(d.x, d.y);
  const EvaluateResult second = a.train_on_batch(d.x, d.y);
  FitOptions fit{.batch_size = 12, .epochs = 2, .verbose = 0};
  fit.shuffle = false;
  const History h = b.fit(d.x, d.y, fit);
  // Each call's values are its own batch's (Keras resets the metrics first): fit's epochs.
  EXPECT_NEAR(first.loss(), h.history.at("loss")[0], 1e-6);
  EXPECT_NEAR(second.loss(), h.history.at("loss")[1], 1e-6);
  EXPECT_NEAR(second["accuracy"], h.history.at("accuracy")[1], 1e-6);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second.values[0].first, "loss");
  const auto wa = a.get_weights(), wb = b.get_weights();
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].to_vector<float>(), wb[i].to_vector<float>()) << i;
}

TEST(BatchCallsTest, TestAndPredictOnBatchAreEvaluateAndPredict) {
  const Data d = data(10, 2);
  Sequential m = model_with_dropout(6);
  const EvaluateResult on_batch = m.test_on_batch(d.x, d.y);
  const EvaluateResult whole = m.evaluate(d.x, d.y, {.batch_size = 10, .verbose = 0});
  ASSERT_EQ(on_batch.size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_NEAR(on_batch[i], whole[i], 1e-6) << whole.values[i].first;
  EXPECT_EQ(m.predict_on_batch(d.x).to_vector<float>(), m.predict(d.x).to_vector<float>());
  // model(x): inference by default (as predict); training mode drops units.
  EXPECT_EQ(m(d.x).front().to_vector<float>(), m.predict(d.x).to_vector<float>());
  EXPECT_NE(m(d.x, /*training=*/true).front().to_vector<float>(), m.predict(d.x).to_vector<float>());
}

TEST(BatchCallsTest, ErrorsNameWhatIsMissing) {
  const Data d = data(4, 3);
  Sequential m({layers::Input({5}), layers::Dense(3, "softmax")});
  expect_error<RuntimeError>([&] { m.train_on_batch(d.x, d.y); }, {"compile", "train_on_batch"});
  expect_error<RuntimeError>([&] { m.test_on_batch(d.x, d.y); }, {"compile", "test_on_batch"});
  EXPECT_EQ(m.predict_on_batch(d.x).shape(), Shape({4, 3}));  // no compile needed, as in Keras
  auto a = Input({5}, "a");
  auto h = layers::Dense(4)(a);
  Model two({a}, {layers::Dense(1)(h), layers::Dense(2)(h)});
  expect_error<ValueError>([&] { two.predict_on_batch(d.x); }, {"2 outputs", "call(x)"});
  EXPECT_EQ(two(d.x).size(), 2u);
}

}  // namespace
}  // namespace kerosene
