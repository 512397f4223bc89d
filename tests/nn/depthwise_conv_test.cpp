// DepthwiseConv2D and SeparableConv2D: forward passes against naive loops, finite-difference
// gradients (input, kernels, bias; strides, "same" padding, dilation, depth_multiplier 2);
// against Keras 3 (tests/reference/depthwise_layers.json, scripts/make_depthwise_reference.py),
// each layer built from Keras' own config; parameter counts in summary; errors naming the layer.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "data/data_test_files.h"
#include "kerosene/error.h"
#include "kerosene/kerosene.h"
#include "nn/depthwise_conv2d.h"
#include "nn/gradient_check.h"
#include "saving/layer_codecs.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const ValueError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a ValueError";
  return "";
}

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "\"" << part << "\" not in: " << text;
}

// --- naive references, written from Keras' definition --------------------------------------------

struct Window {
  int kh, kw, sh, sw, dh, dw;
  int64_t multiplier;
  std::string padding;
};

// y[n, i, j, c * dm + m] = sum over (a, b) of x[n, i*sh - top + a*dh, j*sw - left + b*dw, c] k[a, b, c, m].
std::vector<float> ref_depthwise(const std::vector<float>& x, const Shape& xs, const std::vector<float>& k,
                                 const Window& w, Shape& out_shape) {
  const int64_t n = xs[0], h = xs[1], wd = xs[2], c = xs[3], dm = w.multiplier;
  const RefPad ph = ref_padding(w.padding, h, (w.kh - 1) * w.dh + 1, w.sh);
  const RefPad pw = ref_padding(w.padding, wd, (w.kw - 1) * w.dw + 1, w.sw);
  out_shape = Shape{n, ph.out, pw.out, c * dm};
  std::vector<float> y(static_cast<size_t>(out_shape.numel()), 0.0f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < ph.out; ++i)
      for (int64_t j = 0; j < pw.out; ++j)
        for (int64_t ch = 0; ch < c; ++ch)
          for (int64_t m = 0; m < dm; ++m) {
            double acc = 0.0;
            for (int a = 0; a < w.kh; ++a)
              for (int e = 0; e < w.kw; ++e) {
                const int64_t si = i * w.sh - ph.before + a * w.dh, sj = j * w.sw - pw.before + e * w.dw;
                if (si < 0 || si >= h || sj < 0 || sj >= wd) continue;
                acc += double{x[((b * h + si) * wd + sj) * c + ch]} * k[((a * w.kw + e) * c + ch) * dm + m];
              }
            y[((b * ph.out + i) * pw.out + j) * c * dm + ch * dm + m] = static_cast<float>(acc);
          }
  return y;
}

// Each pixel's channels times a (cin, cout) matrix, plus bias: the 1x1 convolution.
std::vector<float> ref_pointwise(const std::vector<float>& x, int64_t pixels, int64_t cin, const std::vector<float>& k,
                                 int64_t cout, const std::vector<float>* bias) {
  std::vector<float> y(static_cast<size_t>(pixels * cout));
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t o = 0; o < cout; ++o) {
      double acc = bias ? (*bias)[o] : 0.0;
      for (int64_t i = 0; i < cin; ++i) acc += double{x[p * cin + i]} * k[i * cout + o];
      y[p * cout + o] = static_cast<float>(acc);
    }
  return y;
}

// --- forward against the naive loops, gradients against finite differences ----------------------

struct GradCase {
  std::string name;
  Shape input;
  layers::Size2D kernel, strides, dilation;
  int multiplier;
  std::string padding, activation;
  bool use_bias;
};

void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }

const auto kGradCases = testing::Values(
    GradCase{"dm2_same_strides2", {7, 6, 3}, 3, 2, 1, 2, "same", "linear", true},
    GradCase{"dm1_valid_strides_2x1", {6, 5, 2}, {3, 2}, {2, 1}, 1, 1, "valid", "tanh", true},
    GradCase{"dm2_same_dilated2", {6, 7, 2}, 3, 1, 2, 2, "same", "linear", true},
    GradCase{"dm3_valid_dilated_2x3_no_bias", {7, 8, 1}, 2, 1, {2, 3}, 3, "valid", "linear", false},
    GradCase{"dm2_same_even_kernel_strides2", {5, 6, 2}, 2, 2, 1, 2, "same", "sigmoid", true});

auto case_name = [](const testing::TestParamInfo<GradCase>& info) { return info.param.name; };

Window window_of(const GradCase& c) {
  return {c.kernel.first, c.kernel.second, c.strides.first, c.strides.second, c.dilation.first, c.dilation.second,
          c.multiplier, c.padding};
}

class DepthwiseConv2DTest : public testing::TestWithParam<GradCase> {};

TEST_P(DepthwiseConv2DTest, MatchesNaiveForwardAndFiniteDifferences) {
  const GradCase& c = GetParam();
  LayerPtr layer = build_layer(layers::DepthwiseConv2D(c.kernel, {.strides = c.strides,
                                                                  .padding = c.padding,
                                                                  .depth_multiplier = c.multiplier,
                                                                  .dilation_rate = c.dilation,
                                                                  .activation = c.activation,
                                                                  .use_bias = c.use_bias}),
                               c.input);
  ASSERT_EQ(layer->variables().size(), c.use_bias ? 2u : 1u);
  EXPECT_EQ(layer->variables()[0].name, "kernel");
  EXPECT_EQ(layer->variables()[0].value.shape(), Shape({c.kernel.first, c.kernel.second, c.input[2], c.multiplier}));
  randomize_variables(*layer, 21, 0.5f);
  const Shape xs = c.input.with_batch(2);
  Tensor x = make_tensor(uniform_values(xs.numel(), 3), xs);
  Shape ys;
  auto expected = ref_depthwise(values_of(x), xs, values_of(layer->variables()[0].value), window_of(c), ys);
  const int64_t channels = ys[3];
  if (c.use_bias) {
    const auto bias = values_of(layer->variables()[1].value);
    for (size_t i = 0; i < expected.size(); ++i) expected[i] += bias[i % channels];
  }
  ref_activation(c.activation, expected, channels);
  EXPECT_EQ(layer->output_shape(), ys.drop_batch());
  expect_close(layer->forward(x, false), expected, 1e-5, 1e-5, c.name + " forward");
  check_gradients(layer, x);
}

INSTANTIATE_TEST_SUITE_P(Shapes, DepthwiseConv2DTest, kGradCases, case_name);

class SeparableConv2DTest : public testing::TestWithParam<GradCase> {};

TEST_P(SeparableConv2DTest, MatchesNaiveForwardAndFiniteDifferences) {
  const GradCase& c = GetParam();
  const int64_t filters = 3;
  LayerPtr layer = build_layer(layers::SeparableConv2D(filters, c.kernel, {.strides = c.strides,
                                                                           .padding = c.padding,
                                                                           .depth_multiplier = c.multiplier,
                                                                           .dilation_rate = c.dilation,
                                                                           .activation = c.activation,
                                                                           .use_bias = c.use_bias}),
                               c.input);
  ASSERT_EQ(layer->variables().size(), c.use_bias ? 3u : 2u);
  EXPECT_EQ(layer->variables()[0].name, "depthwise_kernel");
  EXPECT_EQ(layer->variables()[1].name, "pointwise_kernel");
  EXPECT_EQ(layer->variables()[1].value.shape(), Shape({1, 1, c.input[2] * c.multiplier, filters}));
  randomize_variables(*layer, 41, 0.5f);
  const Shape xs = c.input.with_batch(2);
  Tensor x = make_tensor(uniform_values(xs.numel(), 5), xs);
  Shape mid_shape;
  const auto mid = ref_depthwise(values_of(x), xs, values_of(layer->variables()[0].value), window_of(c), mid_shape);
  const std::vector<float> bias = c.use_bias ? values_of(layer->variables()[2].value) : std::vector<float>{};
  const int64_t pixels = mid_shape[0] * mid_shape[1] * mid_shape[2];
  auto expected = ref_pointwise(mid, pixels, mid_shape[3], values_of(layer->variables()[1].value), filters,
                                c.use_bias ? &bias : nullptr);
  ref_activation(c.activation, expected, filters);
  EXPECT_EQ(layer->output_shape(), Shape({mid_shape[1], mid_shape[2], filters}));
  expect_close(layer->forward(x, false), expected, 1e-5, 1e-5, c.name + " forward");
  check_gradients(layer, x);
}

INSTANTIATE_TEST_SUITE_P(Shapes, SeparableConv2DTest, kGradCases, case_name);

// --- Against Keras 3 -----------------------------------------------------------------------------

void expect_matches(const Tensor& actual, const json& expected, const std::string& what) {
  EXPECT_EQ(actual.shape(), shape_of(expected["shape"])) << what;
  expect_max_abs_diff(values_of(actual), floats_of(expected["values"]), 1e-5, what);
}

TEST(DepthwiseLayersReferenceTest, KerasConfigsLoadAndComputeAsKeras) {
  const json ref = load_reference("depthwise_layers.json");
  ASSERT_GE(ref["cases"].size(), 6u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const json envelope = {{"class_name", c["class_name"]}, {"config", c["config"]}};
    auto layer = saving::decode_layer(envelope, "depthwise_layers.json").layer;
    ASSERT_TRUE(layer);
    EXPECT_EQ(layer->class_name(), c["class_name"]);
    Tensor x = tensor_of(c["input"]);
    std::mt19937_64 rng(1);
    layer->build(x.shape().drop_batch(), Device(), rng);
    ASSERT_EQ(layer->variables().size(), c["weights"].size());
    std::vector<Tensor> weights;
    for (size_t i = 0; i < c["weights"].size(); ++i) {
      EXPECT_EQ(layer->variables()[i].name, c["weight_names"][i]);
      weights.push_back(tensor_of(c["weights"][i]));
    }
    kerosene::Layer(layer).set_weights(weights);  // also checks each shape against Keras'
    EXPECT_EQ(layer->count_params(), c["count_params"].get<int64_t>());

    expect_matches(layer->forward(x, /*training=*/true), c["output"], name + ": output");
    expect_matches(layer->backward(tensor_of(c["R"]), /*need_dx=*/true), c["grad_input"], name + ": d/d(input)");
    for (size_t i = 0; i < layer->variables().size(); ++i) {
      expect_matches(layer->variables()[i].grad, c["grad_weights"][i], name + ": d/d(" + layer->variables()[i].name + ")");
    }

    // Written back, the config has Keras' keys in Keras' order, with Keras' values (dtype and
    // initializers in their Keras 3.0 forms, which every 3.x reads).
    const json written = saving::layer_envelope(*layer)["config"];
    const json& keras = c["config"];
    std::vector<std::string> written_keys, keras_keys;
    for (const auto& [key, value] : keras.items()) {
      keras_keys.push_back(key);
      ASSERT_TRUE(written.contains(key)) << "kerosene does not write \"" << key << "\"";
      if (key == "dtype" || key.find("initializer") != std::string::npos) continue;
      EXPECT_EQ(written[key], value) << key;
    }
    EXPECT_EQ(written.size(), keras.size()) << written.dump();
    const auto ordered = saving::layer_envelope(*layer)["config"];
    for (const auto& [key, value] : ordered.items()) written_keys.push_back(key);
    std::vector<std::string> keras_order;  // nlohmann::json sorts keys; the file's order is Keras'
    for (const char* k : {"depth_multiplier", "filters", "kernel_size", "strides", "padding", "data_format",
                          "dilation_rate", "activation", "use_bias"}) {
      if (keras.contains(k)) keras_order.push_back(k);
    }
    std::vector<std::string> written_order;
    for (const auto& k : written_keys) {
      if (std::find(keras_order.begin(), keras_order.end(), k) != keras_order.end()) written_order.push_back(k);
    }
    EXPECT_EQ(written_order, keras_order);
  }
}

// --- In a model: summary, weights ----------------------------------------------------------------

TEST(DepthwiseLayersModelTest, SummaryCountsAsKeras) {
  Sequential model({layers::Input({8, 8, 3}),
                    layers::DepthwiseConv2D(3, {.depth_multiplier = 2, .name = "dw"}),
                    layers::SeparableConv2D(5, 3, {.padding = "same", .name = "sep"}),
                    layers::SeparableConv2D(4, 2, {.depth_multiplier = 3, .use_bias = false, .name = "sep_nb"})});
  // dw: 3*3*3*2 + 6 = 60; sep: 3*3*6 + 6*5 + 5 = 89; sep_nb: 2*2*5*3 + 15*4 = 120.
  EXPECT_EQ(model.layers()[0].count_params(), 60);
  EXPECT_EQ(model.layers()[1].count_params(), 89);
  EXPECT_EQ(model.layers()[2].count_params(), 120);
  EXPECT_EQ(model.layers()[0].output_shape(), Shape({6, 6, 6}));
  EXPECT_EQ(model.layers()[1].output_shape(), Shape({6, 6, 5}));
  EXPECT_EQ(model.layers()[2].output_shape(), Shape({5, 5, 4}));
  const std::string s = model.summary_string();
  EXPECT_CONTAINS(s, "dw (DepthwiseConv2D)");
  EXPECT_CONTAINS(s, "sep (SeparableConv2D)");
  EXPECT_CONTAINS(s, "Total params: 269 (1.05 KB)\n");
  const auto weights = model.layers()[1].get_weights();
  ASSERT_EQ(weights.size(), 3u);
  EXPECT_EQ(weights[0].shape(), Shape({3, 3, 6, 1}));
  EXPECT_EQ(weights[1].shape(), Shape({1, 1, 6, 5}));
  EXPECT_EQ(weights[2].to_vector<float>(), std::vector<float>(5, 0.0f));  // bias_initializer "zeros"
}

TEST(DepthwiseLayersModelTest, OptionsAreWrittenInlineAndDefaultAsKeras) {
  auto dw = [](const kerosene::Layer& l) { return std::dynamic_pointer_cast<nn::DepthwiseConv2D>(l.impl())->config(); };
  auto sep = [](const kerosene::Layer& l) { return std::dynamic_pointer_cast<nn::SeparableConv2D>(l.impl())->config(); };
  const auto a = dw(layers::DepthwiseConv2D(3));
  EXPECT_EQ(std::tie(a.window.kernel_h, a.window.kernel_w, a.window.stride_h, a.window.depth_multiplier,
                     a.window.dilation_h, a.window.padding, a.use_bias, a.depthwise_initializer, a.bias_initializer),
            std::make_tuple(3, 3, 1, int64_t{1}, 1, std::string("valid"), true, std::string("glorot_uniform"),
                            std::string("zeros")));
  const auto b = dw(layers::DepthwiseConv2D({3, 1}, {.strides = {2, 1}, .padding = "same", .depth_multiplier = 2}));
  EXPECT_EQ(std::tie(b.window.kernel_h, b.window.kernel_w, b.window.stride_h, b.window.stride_w, b.window.depth_multiplier),
            std::make_tuple(3, 1, 2, 1, int64_t{2}));
  const auto c = sep(layers::SeparableConv2D(8, 3, {.dilation_rate = {2, 3}, .activation = "relu"}));
  EXPECT_EQ(std::tie(c.filters, c.window.dilation_h, c.window.dilation_w, c.activation, c.pointwise_initializer),
            std::make_tuple(int64_t{8}, 2, 3, backends::ActivationKind::relu, std::string("glorot_uniform")));
  EXPECT_EQ(layers::DepthwiseConv2D(3).name().rfind("depthwise_conv2d", 0), 0u);
  EXPECT_EQ(layers::SeparableConv2D(2, 3).name().rfind("separable_conv2d", 0), 0u);
}

// --- Errors name the layer, the option and the values --------------------------------------------

TEST(DepthwiseLayersErrorsTest, BadOptionsAndShapesNameLayerAndValues) {
  std::string m = message_of([] { layers::DepthwiseConv2D(3, {.depth_multiplier = 0, .name = "dw"}); });
  expect_contains(m, "DepthwiseConv2D layer \"dw\"");
  expect_contains(m, "depth_multiplier must be positive, got 0");
  m = message_of([] { layers::SeparableConv2D(4, 3, {.strides = 2, .dilation_rate = 2, .name = "sep"}); });
  expect_contains(m, "SeparableConv2D layer \"sep\"");
  expect_contains(m, "dilation_rate");
  m = message_of([] { layers::SeparableConv2D(0, 3, {.name = "sep"}); });
  expect_contains(m, "filters must be positive, got 0");
  m = message_of([] { layers::DepthwiseConv2D({0, 3}, {.name = "dw"}); });
  expect_contains(m, "kernel_size must be positive, got (0, 3)");
  m = message_of([] { layers::DepthwiseConv2D(3, {.padding = "full", .name = "dw"}); });
  expect_contains(m, "\"full\"");
  m = message_of([] { build_layer(layers::DepthwiseConv2D(3, {.dilation_rate = 3, .name = "dw"}), {6, 9, 2}); });
  expect_contains(m, "DepthwiseConv2D layer \"dw\"");
  expect_contains(m, "dilated to 7x7");
  expect_contains(m, "(6, 9, 2)");
  m = message_of([] { build_layer(layers::SeparableConv2D(2, 3, {.name = "sep"}), {6, 9}); });
  expect_contains(m, "SeparableConv2D layer \"sep\"");
  expect_contains(m, "(height, width, channels)");
}

TEST(DepthwiseLayersErrorsTest, UnsupportedKerasOptionsNameLayerAndOption) {
  auto decode_error = [](const std::string& class_name, const json& config) {
    return message_of([&] { saving::decode_layer({{"class_name", class_name}, {"config", config}}, "m.keras"); });
  };
  std::string m = decode_error("DepthwiseConv2D", {{"name", "dw"}, {"kernel_size", {3, 3}}, {"data_format", "channels_first"}});
  expect_contains(m, "layer \"dw\" (DepthwiseConv2D)");
  expect_contains(m, "data_format");
  m = decode_error("SeparableConv2D", {{"name", "s"}, {"filters", 2}, {"kernel_size", 3}, {"pointwise_regularizer", "l2"}});
  expect_contains(m, "pointwise_regularizer");
  m = decode_error("SeparableConv2D", {{"name", "s"}, {"kernel_size", 3}});
  expect_contains(m, "filters");
  m = decode_error("DepthwiseConv2D", {{"name", "dw"}, {"kernel_size", 3}, {"depth_multiplier", 0}});
  expect_contains(m, "depth_multiplier");
}

}  // namespace
}  // namespace kerosene::test
