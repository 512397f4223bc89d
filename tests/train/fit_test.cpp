// fit, evaluate and predict: the checks of the user's data, NaN handling, validation data,
// epochs and steps, callbacks, History, determinism under a seed, and a training loop that
// allocates nothing once warm.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <string>
#include <vector>

#include "cli_util.h"
#include "real_data.h"
#include "kerosene/kerosene.h"

namespace kerosene {
namespace {

FitOptions quiet(int batch_size = 32, int epochs = 1) {
  FitOptions o;
  o.batch_size = batch_size;
  o.epochs = epochs;
  o.verbose = 0;
  return o;
}

EvaluateOptions quiet_evaluate(int batch_size = 32) {
  EvaluateOptions o;
  o.batch_size = batch_size;
  o.verbose = 0;
  return o;
}

using test_util::expect_error;

// The real training images (scaled to [0, 1]) and labels, loaded once: MNIST, or Fashion-MNIST
// where MNIST is not on the machine.
const datasets::Split& mnist_train() {
  static const datasets::Split split = [] {
    auto [train, test] = datasets::load(test_util::real_data()->path);
    return datasets::Split{.x = train.x.to_float() / 255.0f, .y = train.y, .x_source = {}, .y_source = {}};
  }();
  return split;
}

Sequential small_classifier(int classes = 3) {
  return Sequential({layers::Input({4}), layers::Dense(8, "relu"), layers::Dense(classes, "softmax")});
}

// 12 samples of 4 features, labels 0..2.
std::pair<Tensor, Tensor> small_data(int64_t n = 12) {
  std::vector<float> x(n * 4);
  std::vector<int32_t> y(n);
  for (int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<int32_t>(i % 3);
    for (int j = 0; j < 4; ++j) x[i * 4 + j] = static_cast<float>((i * 7 + j * 3) % 5) / 5.0f + (j == y[i] ? 1.0f : 0.0f);
  }
  return {Tensor::from_vector(x, {n, 4}), Tensor::from_vector(y, {n})};
}

// --- The user's data is checked before training ---------------------------------------------------

TEST(FitTest, SampleCountMismatch) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  auto [x, y] = small_data(12);
  expect_error<ValueError>([&] { model.fit(x, y.slice(0, 10), quiet()); }, {"12", "10", "different numbers"});
  expect_error<ValueError>([&] { model.evaluate(x.slice(0, 5), y, quiet_evaluate()); }, {"5", "12"});
}

TEST(FitTest, LabelOutOfRange) {
  Sequential model = small_classifier(3);
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  auto [x, y] = small_data(12);
  std::vector<int32_t> labels = y.to_vector<int32_t>();
  labels[7] = 5;
  expect_error<ValueError>([&] { model.fit(x, Tensor::from_vector(labels, {12}), quiet()); },
                           {"y[7] = 5", "3 classes"});
  labels[7] = 3;  // one past the last class
  expect_error<ValueError>([&] { model.fit(x, Tensor::from_vector(labels, {12}), quiet()); },
                           {"y[7] = 3", "3 classes"});
  labels[7] = -1;
  expect_error<ValueError>([&] { model.fit(x, Tensor::from_vector(labels, {12}), quiet()); }, {"y[7] = -1"});
  std::vector<float> fractional(12, 1.0f);
  fractional[4] = 1.5f;
  expect_error<ValueError>([&] { model.fit(x, Tensor::from_vector(fractional, {12}), quiet()); }, {"y[4]"});
}

TEST(FitTest, NaNInXNamesTheSample) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy");
  auto [x, y] = small_data(12);
  std::vector<float> values = x.to_vector<float>();
  values[9 * 4 + 2] = std::numeric_limits<float>::quiet_NaN();
  Tensor bad = Tensor::from_vector(values, {12, 4});
  expect_error<NumericError>([&] { model.fit(bad, y, quiet()); }, {"NaN", "sample 9"});
  values[9 * 4 + 2] = std::numeric_limits<float>::infinity();
  expect_error<NumericError>([&] { model.evaluate(Tensor::from_vector(values, {12, 4}), y, quiet_evaluate()); },
                             {"infinite", "sample 9"});
  FitOptions with_bad_validation = quiet();
  with_bad_validation.validation_data = std::make_pair(bad, y);
  expect_error<NumericError>([&] { model.fit(x, y, with_bad_validation); }, {"validation_data.x", "sample 9"});
}

TEST(FitTest, WrongInputShape) {
  Sequential model({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(10, "softmax")});
  model.compile("adam", "sparse_categorical_crossentropy");
  Tensor y = Tensor::zeros({4}, DType::int32);
  expect_error<ValueError>([&] { model.fit(Tensor::zeros({4, 28, 27}), y, quiet()); },
                           {"x has shape (4, 28, 27)", "model \"" + model.name() + "\"", "(None, 28, 28, 1)"});
  expect_error<ValueError>([&] { model.predict(Tensor::zeros({4, 784})); }, {"x has shape (4, 784)"});
  // (N, 28, 28) is taken for (N, 28, 28, 1), as Keras users expect for MNIST.
  EXPECT_NO_THROW(model.fit(Tensor::zeros({4, 28, 28}), y, quiet()));
}

TEST(FitTest, BadOptions) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy");
  auto [x, y] = small_data(12);
  for (float split : {1.0f, 1.5f, -0.1f, std::numeric_limits<float>::quiet_NaN()}) {
    FitOptions o = quiet();
    o.validation_split = split;
    expect_error<ValueError>([&] { model.fit(x, y, o); }, {"validation_split"});
  }
  FitOptions too_much = quiet();
  too_much.validation_split = 0.99f;  // 12 samples: nothing left to train on
  expect_error<ValueError>([&] { model.fit(x, y, too_much); }, {"validation_split", "12 samples"});
  expect_error<ValueError>([&] { model.fit(x, y, quiet(0)); }, {"batch_size"});
  FitOptions no_steps = quiet();
  no_steps.steps_per_epoch = 0;
  expect_error<ValueError>([&] { model.fit(x, y, no_steps); }, {"steps_per_epoch"});
}

// --- NaN losses -----------------------------------------------------------------------------------

// A tiny regression that SGD with an absurd learning rate blows up within a few steps.
Sequential exploding_regression() {
  Sequential model({layers::Input({2}), layers::Dense(1)});
  optimizers::SGDOptions sgd;
  sgd.learning_rate = 1e30f;
  model.compile(optimizers::SGD(sgd), "mse");
  return model;
}

std::pair<Tensor, Tensor> regression_data() {
  std::vector<float> x(64 * 2), y(64);
  for (int i = 0; i < 64; ++i) {
    x[i * 2] = static_cast<float>(i % 8);
    x[i * 2 + 1] = static_cast<float>(i % 5);
    y[i] = 3.0f * x[i * 2] - x[i * 2 + 1];
  }
  return {Tensor::from_vector(x, {64, 2}), Tensor::from_vector(y, {64, 1})};
}

TEST(FitTest, NaNLossIsANumericError) {
  Sequential model = exploding_regression();
  auto [x, y] = regression_data();
  expect_error<NumericError>([&] { model.fit(x, y, quiet(8, 5)); }, {"loss became", "TerminateOnNaN"});
}

TEST(FitTest, TerminateOnNaNStopsWithoutAnError) {
  Sequential model = exploding_regression();
  auto [x, y] = regression_data();
  auto terminate = std::make_shared<callbacks::TerminateOnNaN>();
  int batches = 0;
  auto counter = std::make_shared<callbacks::LambdaCallback>();
  counter->on_batch_end_fn = [&](int, const Logs&) { ++batches; };
  FitOptions o = quiet(8, 5);
  o.callbacks = {terminate, counter};
  History h;
  ASSERT_NO_THROW(h = model.fit(x, y, o));
  EXPECT_TRUE(terminate->terminated());
  EXPECT_TRUE(model.stop_training);
  EXPECT_LT(batches, 5 * 8);  // it stopped early
  EXPECT_LE(h.epoch.size(), 1u);
}

// --- Validation -----------------------------------------------------------------------------------

TEST(FitTest, ValidationSplitTakesTheLastSamples) {
  // x is all zeros and the model predicts 0 (zero weights, a negligible learning rate), so the
  // loss on a sample is its target squared: 0 for the first 80 samples, 100 for the last 20.
  layers::DenseOptions zero;
  zero.kernel_initializer = "zeros";
  Sequential model({layers::Input({1}), layers::Dense(1, zero)});
  optimizers::SGDOptions sgd;
  sgd.learning_rate = 1e-30f;
  model.compile(optimizers::SGD(sgd), "mse");
  std::vector<float> targets(100, 0.0f);
  for (int i = 80; i < 100; ++i) targets[i] = 10.0f;
  FitOptions o = quiet(10, 2);
  o.validation_split = 0.2f;
  History h = model.fit(Tensor::zeros({100, 1}), Tensor::from_vector(targets, {100, 1}), o);
  ASSERT_EQ(h.history["val_loss"].size(), 2u);
  EXPECT_NEAR(h.history["val_loss"][0], 100.0, 1e-3);
  EXPECT_NEAR(h.history["val_loss"][1], 100.0, 1e-3);
  EXPECT_NEAR(h.history["loss"][0], 0.0, 1e-6);
}

TEST(FitTest, ValidationDataAppearsInHistory) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  auto [x, y] = small_data(24);
  FitOptions o = quiet(4, 3);
  o.validation_data = std::make_pair(x.slice(0, 6), y.slice(0, 6));
  History h = model.fit(x, y, o);
  EXPECT_EQ(h.epoch, (std::vector<int>{0, 1, 2}));
  for (const char* name : {"loss", "accuracy", "val_loss", "val_accuracy"}) {
    ASSERT_EQ(h.history.count(name), 1u) << name;
    EXPECT_EQ(h.history[name].size(), 3u) << name;
  }
  EXPECT_EQ(h.history.size(), 4u);
  // The last epoch's val_loss is what evaluate says for the same data and weights.
  EvaluateResult r = model.evaluate(x.slice(0, 6), y.slice(0, 6), quiet_evaluate());
  EXPECT_NEAR(h.history["val_loss"].back(), r.loss(), 1e-5);
  EXPECT_NEAR(h.history["val_accuracy"].back(), r["accuracy"], 1e-9);
}

// --- Epochs, steps and callbacks ------------------------------------------------------------------

// Records what a user's callback sees.
class Recorder : public Callback {
 public:
  std::vector<int> epochs_begun, epochs_ended;
  std::vector<std::vector<std::string>> keys;
  std::vector<double> losses, accuracies;
  int batches = 0;
  int train_begin = 0, train_end = 0;
  CallbackParams seen_params;

  void on_train_begin(Logs&) override {
    ++train_begin;
    seen_params = params();
    EXPECT_NE(model(), nullptr);
  }
  void on_train_end(Logs&) override { ++train_end; }
  void on_epoch_begin(int epoch, Logs&) override { epochs_begun.push_back(epoch); }
  void on_train_batch_end(int, Logs& logs) override {
    ++batches;
    EXPECT_TRUE(logs.contains("loss"));
  }
  void on_epoch_end(int epoch, Logs& logs) override {
    epochs_ended.push_back(epoch);
    std::vector<std::string> names;
    for (const auto& [name, value] : logs.entries()) names.push_back(name);
    keys.push_back(names);
    losses.push_back(logs.get("loss").value_or(NAN));
    accuracies.push_back(logs.get("accuracy").value_or(NAN));
  }
};

TEST(FitTest, CustomCallbackSeesEpochEndLogs) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  auto [x, y] = small_data(12);
  auto recorder = std::make_shared<Recorder>();
  FitOptions o = quiet(4, 2);
  o.callbacks = {recorder};
  History h = model.fit(x, y, o);
  EXPECT_EQ(recorder->train_begin, 1);
  EXPECT_EQ(recorder->train_end, 1);
  EXPECT_EQ(recorder->epochs_ended, (std::vector<int>{0, 1}));
  EXPECT_EQ(recorder->batches, 6);
  EXPECT_EQ(recorder->seen_params.epochs, 2);
  EXPECT_EQ(recorder->seen_params.steps, 3);
  ASSERT_EQ(recorder->keys.size(), 2u);
  EXPECT_EQ(recorder->keys[0], (std::vector<std::string>{"loss", "accuracy"}));
  for (int e = 0; e < 2; ++e) {
    EXPECT_EQ(recorder->losses[e], h.history["loss"][e]);
    EXPECT_EQ(recorder->accuracies[e], h.history["accuracy"][e]);
    EXPECT_GE(recorder->accuracies[e], 0.0);
    EXPECT_LE(recorder->accuracies[e], 1.0);
    EXPECT_GT(recorder->losses[e], 0.0);
  }
}

TEST(FitTest, EpochSecondsOnePerEpoch) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy");
  auto [x, y] = small_data(12);
  History h = model.fit(x, y, quiet(4, 4));
  ASSERT_EQ(h.epoch_seconds.size(), 4u);
  for (double s : h.epoch_seconds) {
    EXPECT_GT(s, 0.0);
    EXPECT_LT(s, 10.0);
  }
  EXPECT_EQ(h.history["loss"].size(), 4u);
}

TEST(FitTest, EpochSamplesCountWhatWasTrained) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy");
  auto [x, y] = small_data(12);
  History h = model.fit(x, y, quiet(5, 2));  // 12 samples in batches of 5: 5, 5, 2
  EXPECT_EQ(h.epoch_samples, (std::vector<int64_t>{12, 12}));
  FitOptions o = quiet(5, 1);
  o.steps_per_epoch = 2;
  EXPECT_EQ(model.fit(x, y, o).epoch_samples, (std::vector<int64_t>{10}));
}

TEST(FitTest, InitialEpoch) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy");
  auto [x, y] = small_data(12);
  auto recorder = std::make_shared<Recorder>();
  FitOptions o = quiet(4, 5);
  o.initial_epoch = 3;
  o.callbacks = {recorder};
  History h = model.fit(x, y, o);
  EXPECT_EQ(h.epoch, (std::vector<int>{3, 4}));
  EXPECT_EQ(recorder->epochs_begun, (std::vector<int>{3, 4}));
  EXPECT_EQ(h.epoch_seconds.size(), 2u);
  o.initial_epoch = 5;  // nothing left to do
  EXPECT_TRUE(model.fit(x, y, o).epoch.empty());
}

TEST(FitTest, StepsPerEpoch) {
  Sequential model = small_classifier();
  model.compile("adam", "sparse_categorical_crossentropy");
  auto [x, y] = small_data(100);
  auto recorder = std::make_shared<Recorder>();
  FitOptions o = quiet(4, 2);
  o.steps_per_epoch = 3;
  o.callbacks = {recorder};
  model.fit(x, y, o);
  EXPECT_EQ(recorder->batches, 6);
  EXPECT_EQ(recorder->seen_params.steps, 3);
  // More steps than one pass holds: batches wrap around the data.
  recorder->batches = 0;
  o.steps_per_epoch = 30;
  model.fit(x, y, o);
  EXPECT_EQ(recorder->batches, 60);
}

TEST(FitTest, EarlyStoppingOnAPlateau) {
  // A negligible learning rate keeps the loss where it is: a plateau from the first epoch.
  Sequential model = small_classifier();
  optimizers::SGDOptions sgd;
  sgd.learning_rate = 1e-30f;
  model.compile(optimizers::SGD(sgd), "sparse_categorical_crossentropy");
  auto [x, y] = small_data(12);
  callbacks::EarlyStopping::Options es;
  es.monitor = "loss";
  es.patience = 2;
  es.min_delta = 1e-4;
  auto stopper = std::make_shared<callbacks::EarlyStopping>(es);
  FitOptions o = quiet(4, 50);
  o.callbacks = {stopper};
  History h = model.fit(x, y, o);
  EXPECT_EQ(stopper->stopped_epoch(), 2);
  EXPECT_EQ(h.epoch, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(model.stop_training);
}

// --- predict and evaluate -------------------------------------------------------------------------

TEST(FitTest, PredictShapesAndTheLastPartialBatch) {
  // A linear layer with known weights: predictions can be computed by hand.
  Sequential model({layers::Input({3}), layers::Dense(2)});
  model.set_weights({Tensor::from_vector(std::vector<float>{1, 0, 0, 1, 2, -1}, {3, 2}),
                     Tensor::from_vector(std::vector<float>{0.5f, -0.5f}, {2})});
  std::vector<float> xs(10 * 3);
  std::iota(xs.begin(), xs.end(), 0.0f);
  PredictOptions o;
  o.batch_size = 4;  // 4 + 4 + a partial batch of 2
  Tensor out = model.predict(Tensor::from_vector(xs, {10, 3}), o);
  ASSERT_EQ(out.shape(), Shape({10, 2}));
  EXPECT_EQ(out.device(), Device());
  const std::vector<float> p = out.to_vector<float>();
  for (int i = 0; i < 10; ++i) {
    const float a = xs[i * 3], b = xs[i * 3 + 1], c = xs[i * 3 + 2];
    EXPECT_FLOAT_EQ(p[i * 2], a + 2 * c + 0.5f) << "row " << i;
    EXPECT_FLOAT_EQ(p[i * 2 + 1], b - c - 0.5f) << "row " << i;
  }
  o.batch_size = 64;  // one batch larger than the data
  EXPECT_EQ(model.predict(Tensor::from_vector(xs, {10, 3}), o).to_vector<float>(), p);
  Sequential cnn({layers::Input({8, 8, 1}), layers::Conv2D(4, {3, 3}), layers::MaxPooling2D({2, 2})});
  EXPECT_EQ(cnn.predict(Tensor::zeros({5, 8, 8, 1})).shape(), Shape({5, 3, 3, 4}));
}

TEST(FitTest, EvaluateReturnsLossAndAccuracy) {
  // One-hot inputs and an identity kernel scaled by 2: the logits of sample i are 2 * e_{class}.
  Sequential model({layers::Input({3}), layers::Dense(3, "softmax")});
  model.set_weights({Tensor::from_vector(std::vector<float>{2, 0, 0, 0, 2, 0, 0, 0, 2}, {3, 3}), Tensor::zeros({3})});
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  std::vector<float> x(9 * 3, 0.0f);
  std::vector<int32_t> y(9);
  for (int i = 0; i < 9; ++i) {
    x[i * 3 + i % 3] = 1.0f;
    y[i] = i < 6 ? i % 3 : (i + 1) % 3;  // the last three labels are wrong
  }
  EvaluateResult r = model.evaluate(Tensor::from_vector(x, {9, 3}), Tensor::from_vector(y, {9}), quiet_evaluate(4));
  ASSERT_EQ(r.values.size(), 2u);
  EXPECT_EQ(r.values[0].first, "loss");
  EXPECT_EQ(r.values[1].first, "accuracy");
  const double z = std::exp(2.0) + 2.0;
  const double right = -std::log(std::exp(2.0) / z), wrong = -std::log(1.0 / z);
  EXPECT_NEAR(r.loss(), (6 * right + 3 * wrong) / 9, 1e-5);
  EXPECT_NEAR(r["accuracy"], 6.0 / 9.0, 1e-9);
  EXPECT_THROW(r["precision"], ValueError);
}

// --- Determinism and allocations ------------------------------------------------------------------

std::vector<std::vector<float>> train_on_mnist_subset(bool cnn, uint64_t seed) {
  utils::set_random_seed(seed);
  const auto& mnist = mnist_train();
  Sequential model = cnn ? Sequential({layers::Input({28, 28, 1}), layers::Conv2D(8, {3, 3}, "relu"),
                                       layers::MaxPooling2D({2, 2}), layers::Flatten(), layers::Dropout(0.25f),
                                       layers::Dense(10, "softmax")})
                         : Sequential({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(64, "relu"),
                                       layers::Dropout(0.2f), layers::Dense(10, "softmax")});
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  model.fit(mnist.x.slice(0, 2048), mnist.y.slice(0, 2048), quiet(32, 1));
  std::vector<std::vector<float>> weights;
  for (const Tensor& w : model.get_weights()) weights.push_back(w.to_vector<float>());
  return weights;
}

TEST(FitTest, SameSeedSameWeights) {
  KEROSENE_REQUIRE_REAL_DATA();
  for (bool cnn : {false, true}) {
    const auto first = train_on_mnist_subset(cnn, 42);
    const auto second = train_on_mnist_subset(cnn, 42);
    ASSERT_EQ(first.size(), second.size());
    for (size_t i = 0; i < first.size(); ++i) {
      // Bit-identical, not merely close.
      EXPECT_EQ(0, std::memcmp(first[i].data(), second[i].data(), first[i].size() * sizeof(float)))
          << (cnn ? "CNN" : "MLP") << " weight " << i << " differs between two runs with the same seed";
    }
    const auto other = train_on_mnist_subset(cnn, 43);
    EXPECT_NE(first[0], other[0]) << "another seed gave the same weights";
  }
}

// num_allocs of /CPU:0 after batches 5 and 50 of one epoch.
std::pair<uint64_t, uint64_t> allocations_between_batches(Sequential& model, const Tensor& x, const Tensor& y) {
  uint64_t at5 = 0, at50 = 0;
  auto sampler = std::make_shared<callbacks::LambdaCallback>();
  sampler->on_batch_end_fn = [&](int batch, const Logs&) {
    if (batch == 5) at5 = config::experimental::get_memory_info("CPU:0").num_allocs;
    if (batch == 50) at50 = config::experimental::get_memory_info("CPU:0").num_allocs;
  };
  FitOptions o = quiet(16, 1);  // 1024 samples: 64 full batches, no partial one
  o.callbacks = {sampler};
  model.fit(x, y, o);
  return {at5, at50};
}

TEST(FitTest, SteadyStateAllocatesNothing) {
  KEROSENE_REQUIRE_REAL_DATA();
  const auto& mnist = mnist_train();
  const Tensor x = mnist.x.slice(0, 1024), y = mnist.y.slice(0, 1024);
  Sequential mlp({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(32, "relu"), layers::Dropout(0.2f),
                  layers::Dense(10, "softmax")});
  mlp.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  auto [mlp5, mlp50] = allocations_between_batches(mlp, x, y);
  EXPECT_GT(mlp5, 0u);
  EXPECT_EQ(mlp5, mlp50) << "the MLP allocated " << (mlp50 - mlp5) << " times in 45 steps";

  Sequential cnn({layers::Input({28, 28, 1}), layers::Conv2D(4, {3, 3}, "relu"), layers::MaxPooling2D({2, 2}),
                  layers::Flatten(), layers::Dense(10, "softmax")});
  cnn.compile("sgd", "sparse_categorical_crossentropy", {"accuracy"});
  auto [cnn5, cnn50] = allocations_between_batches(cnn, x, y);
  EXPECT_EQ(cnn5, cnn50) << "the CNN allocated " << (cnn50 - cnn5) << " times in 45 steps";
}

}  // namespace
}  // namespace kerosene
