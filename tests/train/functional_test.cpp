// The Functional API: merge layers (values and finite-difference gradients), the graph executor
// (a chain gives what Sequential gives; a shared layer sums its calls' gradients; fan-out sums
// gradients), wrong graphs, summary, and .keras round trips.
#include <gtest/gtest.h>

#include "data/data_test_files.h"
#include "kerosene/kerosene.h"
#include "nn/layer.h"
#include "test_util.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

using data_testing::TempDir;
using test::numeric_gradient;

Tensor host_tensor(const std::vector<float>& values, const Shape& shape) { return Tensor::from_vector(values, shape); }

// --- merge layers, on their own -------------------------------------------------------------

struct MergeCase {
  const char* name;
  Layer (*make)();
  int inputs;
  float (*expected)(const std::vector<float>&);  // one element, from the inputs' elements
};

const MergeCase kMergeCases[] = {
    {"Add", [] { return layers::Add(); }, 3, [](const std::vector<float>& v) { return v[0] + v[1] + v[2]; }},
    {"Subtract", [] { return layers::Subtract(); }, 2, [](const std::vector<float>& v) { return v[0] - v[1]; }},
    {"Multiply", [] { return layers::Multiply(); }, 3, [](const std::vector<float>& v) { return v[0] * v[1] * v[2]; }},
    {"Average", [] { return layers::Average(); }, 3, [](const std::vector<float>& v) { return (v[0] + v[1] + v[2]) / 3; }},
    {"Maximum", [] { return layers::Maximum(); }, 3,
     [](const std::vector<float>& v) { return std::max(std::max(v[0], v[1]), v[2]); }},
    {"Minimum", [] { return layers::Minimum(); }, 3,
     [](const std::vector<float>& v) { return std::min(std::min(v[0], v[1]), v[2]); }},
};

class MergeLayers : public ::testing::TestWithParam<MergeCase> {};

TEST_P(MergeLayers, ForwardValuesAndGradients) {
  const MergeCase& c = GetParam();
  const Shape sample{2, 3};
  std::vector<Tensor> xs;
  std::vector<std::vector<float>> values;
  for (int i = 0; i < c.inputs; ++i) {
    // Distinct values, so max/min have no ties and their gradient is defined.
    values.push_back(test::distinct_values(12, 11 + i, 0.07f, -0.4f + 0.013f * i));
    xs.push_back(host_tensor(values.back(), sample.with_batch(2)));
  }
  auto layer = c.make().impl();
  std::mt19937_64 rng(1);
  layer->build(std::vector<Shape>(static_cast<size_t>(c.inputs), sample), Device(), rng);
  std::vector<const Tensor*> ptrs;
  for (auto& x : xs) ptrs.push_back(&x);
  const std::vector<float> y = layer->forward(ptrs, true).to_vector<float>();
  for (size_t e = 0; e < y.size(); ++e) {
    std::vector<float> at;
    for (auto& v : values) at.push_back(v[e]);
    EXPECT_FLOAT_EQ(y[e], c.expected(at)) << c.name << " element " << e;
  }
  const std::vector<float> r = test::uniform_values(12, 99);
  std::vector<const Tensor*> dxs;
  const Tensor dy = host_tensor(r, sample.with_batch(2));  // dxs may point at it (Add's gradient is dy)
  layer->backward(dy, std::vector<bool>(static_cast<size_t>(c.inputs), true), dxs);
  ASSERT_EQ(dxs.size(), static_cast<size_t>(c.inputs));
  for (int i = 0; i < c.inputs; ++i) {
    ASSERT_NE(dxs[i], nullptr);
    const std::vector<float> analytic = dxs[i]->to_vector<float>();
    const std::vector<float> numeric = numeric_gradient(xs[i].data<float>(), 12, 1e-3f, [&] {
      return test::weighted_sum(layer->forward(ptrs, true), r);
    });
    test::expect_close(analytic, numeric, test::kGradAtol, test::kGradRtol,
                          std::string(c.name) + " gradient of input " + std::to_string(i));
  }
}

INSTANTIATE_TEST_SUITE_P(All, MergeLayers, ::testing::ValuesIn(kMergeCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Concatenate, JoinsAlongTheAxisAndSplitsTheGradient) {
  for (int axis : {-1, 1, 2}) {
    auto layer = layers::Concatenate(axis).impl();
    const Shape a{2, 3}, b = axis == 1 ? Shape{4, 3} : Shape{2, 5};
    std::mt19937_64 rng(1);
    layer->build(std::vector<Shape>{a, b}, Device(), rng);
    const Shape out = layer->output_shape();
    EXPECT_EQ(out, axis == 1 ? Shape({6, 3}) : Shape({2, 8})) << "axis " << axis;
    const std::vector<float> va = test::uniform_values(2 * a.numel(), 1), vb = test::uniform_values(2 * b.numel(), 2);
    Tensor xa = host_tensor(va, a.with_batch(2)), xb = host_tensor(vb, b.with_batch(2));
    const std::vector<float> y = layer->forward(std::vector<const Tensor*>{&xa, &xb}, true).to_vector<float>();
    // Naive reference: per sample, rows (axis 1) or columns (last axis) of a, then of b.
    std::vector<float> expected;
    for (int n = 0; n < 2; ++n) {
      if (axis == 1) {
        expected.insert(expected.end(), va.begin() + n * 6, va.begin() + (n + 1) * 6);
        expected.insert(expected.end(), vb.begin() + n * 12, vb.begin() + (n + 1) * 12);
      } else {
        for (int row = 0; row < 2; ++row) {
          expected.insert(expected.end(), va.begin() + n * 6 + row * 3, va.begin() + n * 6 + row * 3 + 3);
          expected.insert(expected.end(), vb.begin() + n * 10 + row * 5, vb.begin() + n * 10 + row * 5 + 5);
        }
      }
    }
    EXPECT_EQ(y, expected) << "axis " << axis;
    // The gradient of a concatenation is the output gradient cut back into the inputs' parts.
    std::vector<const Tensor*> dxs;
    const Tensor dy = host_tensor(expected, out.with_batch(2));
    layer->backward(dy, {true, true}, dxs);
    EXPECT_EQ(dxs[0]->to_vector<float>(), va) << "axis " << axis;
    EXPECT_EQ(dxs[1]->to_vector<float>(), vb) << "axis " << axis;
  }
}

TEST(MergeLayersErrors, NameTheLayerAndTheShapes) {
  auto x = Input({4}, "x");
  auto y = Input({5}, "y");
  try {
    layers::Add("bad_add")(std::vector<KerasTensor>{x, y});
    FAIL() << "no error";
  } catch (const ValueError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("bad_add"), std::string::npos) << text;
    EXPECT_NE(text.find("(None, 4)"), std::string::npos) << text;
    EXPECT_NE(text.find("(None, 5)"), std::string::npos) << text;
  }
  EXPECT_THROW(layers::Subtract()(std::vector<KerasTensor>{x, x, x}), ValueError);
  EXPECT_THROW(layers::Concatenate(1)(std::vector<KerasTensor>{Input({2, 3}), Input({3, 4})}).shape(), ValueError);
  EXPECT_THROW(layers::Concatenate(0)(std::vector<KerasTensor>{x, x}), ValueError);  // the batch axis
}

// --- models ---------------------------------------------------------------------------------

TEST(Functional, AChainComputesAndTrainsExactlyAsSequential) {
  utils::set_random_seed(5);
  Sequential seq({layers::Input({6}), layers::Dense(8, "relu"), layers::Dense(3, "softmax")});
  auto in = Input({6});
  auto out = layers::Dense(3, "softmax")(layers::Dense(8, "relu")(in));
  Model fun(in, out);
  fun.set_weights(seq.get_weights());
  const Tensor x = host_tensor(test::uniform_values(120, 3), {20, 6});
  std::vector<int32_t> labels;
  for (int i = 0; i < 20; ++i) labels.push_back(i % 3);
  const Tensor y = Tensor::from_vector(labels, {20});
  EXPECT_EQ(seq.predict(x).to_vector<float>(), fun.predict(x).to_vector<float>());
  seq.compile(optimizers::Adam({.learning_rate = 0.01f}), "sparse_categorical_crossentropy", {"accuracy"});
  fun.compile(optimizers::Adam({.learning_rate = 0.01f}), "sparse_categorical_crossentropy", {"accuracy"});
  FitOptions options;
  options.epochs = 3;
  options.batch_size = 5;
  options.verbose = 0;
  options.shuffle = false;
  seq.fit(x, y, options);
  fun.fit(x, y, options);
  const auto a = seq.get_weights(), b = fun.get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>()) << "weight " << i;
}

/// Mean loss of `model` on (x, y), and its gradient w.r.t. every weight by one SGD step of
/// learning rate 1 (the step is undone): what backward computed.
std::vector<std::vector<float>> analytic_gradients(Model& model, const Tensor& x, const Tensor& y) {
  const auto before = model.get_weights();
  model.compile(optimizers::SGD({.learning_rate = 1.0f}), "mse");
  FitOptions options;
  options.batch_size = static_cast<int>(x.dim(0));
  options.verbose = 0;
  options.shuffle = false;
  model.fit(x, y, options);
  const auto after = model.get_weights();
  std::vector<std::vector<float>> grads;
  for (size_t i = 0; i < before.size(); ++i) {
    std::vector<float> g = before[i].to_vector<float>(), a = after[i].to_vector<float>();
    for (size_t k = 0; k < g.size(); ++k) g[k] -= a[k];
    grads.push_back(g);
  }
  model.set_weights(before);
  return grads;
}

void expect_gradients_match(Model& model, const Tensor& x, const Tensor& y, const std::string& what) {
  const auto analytic = analytic_gradients(model, x, y);
  auto weights = model.get_weights();
  EvaluateOptions quiet;
  quiet.verbose = 0;
  quiet.batch_size = static_cast<int>(x.dim(0));
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::vector<float> numeric = numeric_gradient(weights[i].data<float>(), weights[i].numel(), 1e-2f, [&] {
      model.set_weights(weights);
      return model.evaluate(x, y, quiet).loss();
    });
    model.set_weights(weights);
    test::expect_close(analytic[i], numeric, 2e-3, 2e-2, what + ", weight " + std::to_string(i));
  }
}

TEST(Functional, ResidualFanOutAndMergesHaveTheRightGradients) {
  utils::set_random_seed(9);
  auto in = Input({5});
  auto h = layers::Dense(6, "tanh")(in);
  auto branch = layers::Dense(6, "tanh")(h);
  auto sum = layers::Add()(std::vector<KerasTensor>{h, branch});              // h reaches sum twice
  auto prod = layers::Multiply()(std::vector<KerasTensor>{sum, branch});
  auto cat = layers::Concatenate()(std::vector<KerasTensor>{prod, h, sum});
  auto out = layers::Dense(2)(cat);
  Model model(in, out);
  const Tensor x = host_tensor(test::uniform_values(20, 4), {4, 5});
  const Tensor y = host_tensor(test::uniform_values(8, 5), {4, 2});
  expect_gradients_match(model, x, y, "residual model");
}

TEST(Functional, ASharedLayerSumsTheGradientsOfItsCalls) {
  utils::set_random_seed(3);
  auto in = Input({4});
  Layer shared = layers::Dense(4, "tanh");
  auto once = shared(in);
  auto twice = shared(once);  // the same weights, applied twice
  auto out = layers::Dense(1)(layers::Subtract()(std::vector<KerasTensor>{twice, once}));
  Model model(in, out);
  EXPECT_EQ(model.layers().size(), 3u);  // Dense, Subtract, Dense: the shared layer once
  EXPECT_EQ(model.count_params(), 20 + 5);
  const Tensor x = host_tensor(test::uniform_values(12, 6), {3, 4});
  const Tensor y = host_tensor(test::uniform_values(3, 7), {3, 1});
  expect_gradients_match(model, x, y, "shared layer");
}

TEST(Functional, WrongGraphsAreErrorsThatNameTheTensors) {
  auto a = Input({3}, "a");
  auto b = Input({3}, "b");
  auto sum = layers::Add()(std::vector<KerasTensor>{a, b});
  try {
    Model model(a, layers::Dense(2, layers::DenseOptions{.name = "head"})(sum));
    FAIL() << "no error";
  } catch (const ValueError& e) {
    const std::string text = e.what();
    EXPECT_NE(text.find("disconnected"), std::string::npos) << text;
    EXPECT_NE(text.find("\"b\""), std::string::npos) << text;
  }
  EXPECT_THROW(Model(sum, sum), ValueError);  // an input that is not made by Input
}

TEST(Functional, SummaryShowsWhatEachLayerIsConnectedTo) {
  auto in = Input({4}, "features");
  auto a = layers::Dense(3, layers::DenseOptions{.name = "left"})(in);
  auto b = layers::Dense(3, layers::DenseOptions{.name = "right"})(in);
  Model model(in, layers::Add("join")(std::vector<KerasTensor>{a, b}), "two_branches");
  const std::string s = model.summary_string(108);  // Keras' width on a wide terminal: no cell wraps
  EXPECT_NE(s.find("Connected to"), std::string::npos) << s;
  EXPECT_NE(s.find("features (InputLayer)"), std::string::npos) << s;
  EXPECT_NE(s.find("│ features[0][0] "), std::string::npos) << s;  // Keras 3: no quotes nor brackets
  EXPECT_NE(s.find("left[0][0],"), std::string::npos) << s;
  EXPECT_NE(s.find("right[0][0]"), std::string::npos) << s;
  EXPECT_NE(s.find(" Total params: 30 (120.00 B)\n"), std::string::npos) << s;
}

TEST(Functional, SavesAndLoadsWithSharedLayersAndMerges) {
  TempDir dir;
  utils::set_random_seed(4);
  auto in = Input({6}, "x");
  Layer shared = layers::Dense(6, "relu");
  auto h1 = shared(in);
  auto h2 = shared(h1);
  auto cat = layers::Concatenate()(std::vector<KerasTensor>{h1, h2});
  auto mx = layers::Maximum()(std::vector<KerasTensor>{h1, layers::Dense(6)(h2)});
  auto out = layers::Dense(3, "softmax")(layers::Concatenate()(std::vector<KerasTensor>{cat, mx}));
  Model model(in, out, "graph");
  model.compile(optimizers::Adam({.learning_rate = 0.01f}), "sparse_categorical_crossentropy", {"accuracy"});
  const Tensor x = host_tensor(test::uniform_values(60, 8), {10, 6});
  const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 0, 1, 2, 0, 1, 2, 0}, {10});
  FitOptions options;
  options.verbose = 0;
  options.batch_size = 5;
  options.shuffle = false;  // the loaded model has its own seed, so its own shuffling
  model.fit(x, y, options);
  model.save(dir / "graph.keras");
  Model loaded = models::load_model(dir / "graph.keras");
  EXPECT_TRUE(loaded.is_functional());
  for (size_t i = 0; i < model.layers().size(); ++i) {
    EXPECT_EQ(loaded.layers()[i].name(), model.layers()[i].name());
    const auto a = model.layers()[i].get_weights(), b = loaded.layers()[i].get_weights();
    ASSERT_EQ(a.size(), b.size());
    for (size_t k = 0; k < a.size(); ++k) EXPECT_EQ(a[k].to_vector<float>(), b[k].to_vector<float>()) << i << " " << k;
  }
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  EXPECT_EQ(loaded.to_json(), model.to_json());
  // Training goes on the same in both (the optimizer state came along).
  model.fit(x, y, options);
  loaded.fit(x, y, options);
  EXPECT_EQ(loaded.predict(x).to_vector<float>(), model.predict(x).to_vector<float>());
  const std::string config = model.to_json();
  EXPECT_NE(config.find("\"class_name\":\"Functional\""), std::string::npos);
  EXPECT_NE(config.find("\"keras_history\":[\"dense"), std::string::npos) << config;
}

TEST(Functional, AFrozenLayerKeepsItsWeightsAndSaysSo) {
  TempDir dir;
  auto in = Input({4});
  Layer frozen = layers::Dense(5, "relu");
  frozen.set_trainable(false);
  Model model(in, layers::Dense(2)(frozen(in)));
  EXPECT_NE(model.summary_string().find("Non-trainable params: 25"), std::string::npos) << model.summary_string();
  const auto before = frozen.get_weights();
  model.compile(optimizers::Adam({.learning_rate = 0.05f}), "mse");
  FitOptions options;
  options.verbose = 0;
  const Tensor x = host_tensor(test::uniform_values(40, 2), {10, 4});
  const Tensor y = host_tensor(test::uniform_values(20, 3), {10, 2});
  model.fit(x, y, options);
  const auto after = frozen.get_weights();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].to_vector<float>(), after[i].to_vector<float>());
  model.save(dir / "frozen.keras");
  Model loaded = models::load_model(dir / "frozen.keras");
  EXPECT_FALSE(loaded.layers()[0].trainable());
  EXPECT_TRUE(loaded.layers()[1].trainable());
  EXPECT_NE(loaded.summary_string().find("Non-trainable params: 25"), std::string::npos);
}

TEST(Functional, SeveralInputsAndOutputsBuildSaveAndLoad) {
  TempDir dir;
  auto a = Input({3}, "a");
  auto b = Input({3}, "b");
  auto sum = layers::Add()({a, b});
  auto first = layers::Dense(2)(sum);
  auto second = layers::Dense(1)(b);
  Model model({a, b}, {first, second}, "two_by_two");
  const std::string s = model.summary_string();
  EXPECT_NE(s.find("a (InputLayer)"), std::string::npos) << s;
  EXPECT_NE(s.find("b (InputLayer)"), std::string::npos) << s;
  EXPECT_EQ(model.count_params(), 8 + 4);
  model.save(dir / "two.keras");
  Model loaded = models::load_model(dir / "two.keras");
  EXPECT_EQ(loaded.to_json(), model.to_json());
  EXPECT_NE(model.to_json().find("\"input_layers\":[[\"a\",0,0],[\"b\",0,0]]"), std::string::npos) << model.to_json();
  const auto w = model.get_weights(), v = loaded.get_weights();
  ASSERT_EQ(w.size(), v.size());
  for (size_t i = 0; i < w.size(); ++i) EXPECT_EQ(w[i].to_vector<float>(), v[i].to_vector<float>());
  // Training and prediction take one input and one output for now: a clear error, not a crash.
  EXPECT_THROW(model.predict(host_tensor(test::uniform_values(6, 1), {2, 3})), ValueError);
}

}  // namespace
}  // namespace kerosene
