// GlobalAveragePooling2D, GlobalMaxPooling2D, ZeroPadding2D, Cropping2D, UpSampling2D, Rescaling
// and dilated Conv2D: forward passes against naive loops and finite-difference gradients; against
// Keras 3 (tests/reference/spatial_layers.json, scripts/make_spatial_reference.py), each layer
// built from Keras' own config; shape and option errors naming the layer; and the int forms of
// Keras' size arguments (Conv2D(32, 3), MaxPooling2D(2), ...) beside the pair forms.
#include <gtest/gtest.h>

#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "kerosene/error.h"
#include "kerosene/layers.h"
#include "nn/conv2d.h"
#include "nn/gradient_check.h"
#include "nn/simple_layers.h"
#include "nn/spatial_layers.h"
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

// --- naive references ------------------------------------------------------------------------

// Each channel's mean or max over the image: (n, c).
std::vector<float> ref_global_pool(bool max, const std::vector<float>& x, const Shape& xs) {
  const int64_t n = xs[0], hw = xs[1] * xs[2], c = xs[3];
  std::vector<float> y(n * c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      double acc = max ? -1e300 : 0.0;
      for (int64_t i = 0; i < hw; ++i) {
        const double v = x[(b * hw + i) * c + ch];
        acc = max ? std::max(acc, v) : acc + v;
      }
      y[b * c + ch] = static_cast<float>(max ? acc : acc / hw);
    }
  return y;
}

// out[b, h, w, c] = x[b, h - top, w - left, c] inside x, else 0 (cropping: negative top, left).
std::vector<float> ref_shift(const std::vector<float>& x, const Shape& xs, int64_t out_h, int64_t out_w, int64_t top,
                             int64_t left) {
  const int64_t n = xs[0], h = xs[1], w = xs[2], c = xs[3];
  std::vector<float> y(n * out_h * out_w * c, 0.0f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < out_h; ++i)
      for (int64_t j = 0; j < out_w; ++j)
        for (int64_t ch = 0; ch < c; ++ch) {
          const int64_t si = i - top, sj = j - left;
          if (si >= 0 && si < h && sj >= 0 && sj < w) y[((b * out_h + i) * out_w + j) * c + ch] = x[((b * h + si) * w + sj) * c + ch];
        }
  return y;
}

std::vector<float> ref_upsample(const std::vector<float>& x, const Shape& xs, int sh, int sw) {
  const int64_t n = xs[0], h = xs[1], w = xs[2], c = xs[3];
  std::vector<float> y(n * h * sh * w * sw * c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < h * sh; ++i)
      for (int64_t j = 0; j < w * sw; ++j)
        for (int64_t ch = 0; ch < c; ++ch) y[((b * h * sh + i) * w * sw + j) * c + ch] = x[((b * h + i / sh) * w + j / sw) * c + ch];
  return y;
}

// --- GlobalAveragePooling2D, GlobalMaxPooling2D ------------------------------------------------

struct GlobalCase {
  bool max, keepdims;
};

class GlobalPoolingTest : public testing::TestWithParam<GlobalCase> {};

TEST_P(GlobalPoolingTest, MatchesNaiveForwardAndFiniteDifferences) {
  const auto [max, keepdims] = GetParam();
  const layers::GlobalPooling2DOptions o{.keepdims = keepdims};
  LayerPtr layer = build_layer(max ? layers::GlobalMaxPooling2D(o) : layers::GlobalAveragePooling2D(o), {4, 5, 3});
  EXPECT_EQ(layer->class_name(), max ? "GlobalMaxPooling2D" : "GlobalAveragePooling2D");
  EXPECT_EQ(layer->output_shape(), keepdims ? Shape({1, 1, 3}) : Shape({3}));
  const Shape xs{2, 4, 5, 3};
  // Distinct values 0.01 apart: each maximum survives a 1e-3 perturbation.
  Tensor x = make_tensor(distinct_values(xs.numel(), 3, 0.01f, -0.5f), xs);
  const Tensor& y = layer->forward(x, false);
  EXPECT_EQ(y.shape(), keepdims ? Shape({2, 1, 1, 3}) : Shape({2, 3}));
  expect_close(values_of(y), ref_global_pool(max, values_of(x), xs), 1e-6, 1e-6, "global pooling forward");
  check_gradients(layer, x, with_eps(1e-3f));
}

INSTANTIATE_TEST_SUITE_P(Kinds, GlobalPoolingTest,
                         testing::Values(GlobalCase{false, false}, GlobalCase{false, true}, GlobalCase{true, false},
                                         GlobalCase{true, true}),
                         [](const testing::TestParamInfo<GlobalCase>& info) {
                           return std::string(info.param.max ? "max" : "average") + (info.param.keepdims ? "_keepdims" : "");
                         });

// --- ZeroPadding2D, Cropping2D, UpSampling2D ---------------------------------------------------

TEST(ZeroPadding2DTest, EveryFormOfPaddingMatchesNaiveForwardAndFiniteDifferences) {
  struct Case {
    layers::Margins2D padding;
    int64_t top, bottom, left, right;
  };
  for (const Case& c : {Case{2, 2, 2, 2, 2}, Case{{1, 3}, 1, 1, 3, 3}, Case{{{0, 2}, {3, 1}}, 0, 2, 3, 1}}) {
    SCOPED_TRACE(c.top * 1000 + c.bottom * 100 + c.left * 10 + c.right);
    LayerPtr layer = build_layer(layers::ZeroPadding2D(c.padding), {3, 4, 2});
    const Shape out{3 + c.top + c.bottom, 4 + c.left + c.right, 2};
    EXPECT_EQ(layer->output_shape(), out);
    const Shape xs{2, 3, 4, 2};
    Tensor x = make_tensor(uniform_values(xs.numel(), 4), xs);
    expect_close(layer->forward(x, false), ref_shift(values_of(x), xs, out[0], out[1], c.top, c.left), 0, 0,
                 "ZeroPadding2D forward");
    check_gradients(layer, x);
  }
  EXPECT_EQ(build_layer(layers::ZeroPadding2D(), {3, 4, 2})->output_shape(), Shape({5, 6, 2}));  // Keras' default 1
}

TEST(Cropping2DTest, EveryFormOfCroppingMatchesNaiveForwardAndFiniteDifferences) {
  struct Case {
    layers::Margins2D cropping;
    int64_t top, bottom, left, right;
  };
  for (const Case& c : {Case{1, 1, 1, 1, 1}, Case{{2, 0}, 2, 2, 0, 0}, Case{{{1, 0}, {2, 1}}, 1, 0, 2, 1}}) {
    SCOPED_TRACE(c.top * 1000 + c.bottom * 100 + c.left * 10 + c.right);
    LayerPtr layer = build_layer(layers::Cropping2D(c.cropping), {5, 6, 3});
    const Shape out{5 - c.top - c.bottom, 6 - c.left - c.right, 3};
    EXPECT_EQ(layer->output_shape(), out);
    const Shape xs{2, 5, 6, 3};
    Tensor x = make_tensor(uniform_values(xs.numel(), 5), xs);
    expect_close(layer->forward(x, false), ref_shift(values_of(x), xs, out[0], out[1], -c.top, -c.left), 0, 0,
                 "Cropping2D forward");
    check_gradients(layer, x);
  }
  EXPECT_EQ(build_layer(layers::Cropping2D(), {5, 6, 3})->output_shape(), Shape({5, 6, 3}));  // none by default
}

TEST(UpSampling2DTest, RepeatsPixelsAndSumsTheirGradients) {
  for (const layers::Size2D& size : {layers::Size2D(2), layers::Size2D(2, 3), layers::Size2D(1, 2)}) {
    SCOPED_TRACE(std::to_string(size.first) + "x" + std::to_string(size.second));
    LayerPtr layer = build_layer(layers::UpSampling2D(size), {3, 2, 2});
    EXPECT_EQ(layer->output_shape(), Shape({3 * size.first, 2 * size.second, 2}));
    const Shape xs{2, 3, 2, 2};
    Tensor x = make_tensor(uniform_values(xs.numel(), 6), xs);
    expect_close(layer->forward(x, false), ref_upsample(values_of(x), xs, size.first, size.second), 0, 0,
                 "UpSampling2D forward");
    check_gradients(layer, x);
  }
  EXPECT_EQ(build_layer(layers::UpSampling2D(), {3, 2, 2})->output_shape(), Shape({6, 4, 2}));
}

// --- Rescaling -----------------------------------------------------------------------------------

TEST(RescalingTest, ScalesAndOffsetsAnyShape) {
  for (const auto& [scale, offset] : {std::pair{1.0 / 255, 0.0}, std::pair{-2.5, 0.75}}) {
    LayerPtr layer = build_layer(layers::Rescaling(scale, offset), {3, 2, 4});
    EXPECT_EQ(layer->output_shape(), Shape({3, 2, 4}));
    const Shape xs{2, 3, 2, 4};
    Tensor x = make_tensor(uniform_values(xs.numel(), 7, -3.0f, 3.0f), xs);
    std::vector<float> expected = values_of(x);
    for (float& v : expected) v = v * static_cast<float>(scale) + static_cast<float>(offset);
    expect_close(layer->forward(x, false), expected, 1e-7, 1e-6, "Rescaling forward");
    check_gradients(layer, x);
  }
}

// --- Conv2D with dilation_rate -------------------------------------------------------------------

struct DilatedCase {
  std::string name;
  Shape input;
  layers::Size2D kernel, dilation;
  std::string padding, activation;
};

void PrintTo(const DilatedCase& c, std::ostream* os) { *os << c.name; }

class DilatedConv2DTest : public testing::TestWithParam<DilatedCase> {};

TEST_P(DilatedConv2DTest, MatchesNaiveForwardAndFiniteDifferences) {
  const DilatedCase& c = GetParam();
  auto make = [&](const std::string& act) {
    return build_layer(layers::Conv2D(3, c.kernel, {.padding = c.padding, .dilation_rate = c.dilation, .activation = act}),
                       c.input);
  };
  LayerPtr layer = make(c.activation);
  randomize_variables(*layer, 31, 0.5f);
  const Shape xs = c.input.with_batch(2);
  const bool relu = c.activation == "relu";
  const float eps = relu ? 1e-3f : 1e-2f;
  Tensor x = make_tensor(uniform_values(xs.numel(), 8), xs);
  if (relu) {
    LayerPtr twin = make("linear");
    copy_variables(*layer, *twin);
    x = relu_safe_input(*twin, xs, 8, eps);
  }
  const std::vector<float> bias = values_of(layer->variables()[1].value);
  const Tensor& kernel = layer->variables()[0].value;
  const auto expected = ref_conv2d(values_of(x), xs, values_of(kernel), kernel.shape(), &bias, 1, 1, c.padding,
                                   c.activation, c.dilation.first, c.dilation.second);
  const Tensor& y = layer->forward(x, false);
  ASSERT_EQ(static_cast<size_t>(y.numel()), expected.size()) << "output shape " << y.shape().to_string();
  expect_close(y, expected, 1e-5, 1e-5, c.name + " forward");
  check_gradients(layer, x, with_eps(eps));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, DilatedConv2DTest,
    testing::Values(DilatedCase{"valid_d2", {7, 7, 2}, 3, 2, "valid", "linear"},
                    DilatedCase{"same_d2", {6, 5, 2}, 3, 2, "same", "tanh"},
                    DilatedCase{"same_d2x3_even_kernel", {6, 7, 1}, 2, {2, 3}, "same", "linear"},
                    DilatedCase{"valid_d3x1_relu", {8, 4, 2}, {2, 3}, {3, 1}, "valid", "relu"}),
    [](const testing::TestParamInfo<DilatedCase>& info) { return info.param.name; });

// --- Against Keras 3 -----------------------------------------------------------------------------

void expect_matches(const Tensor& actual, const json& expected, const std::string& what) {
  EXPECT_EQ(actual.shape(), shape_of(expected["shape"])) << what;
  expect_max_abs_diff(values_of(actual), floats_of(expected["values"]), 1e-5, what);
}

TEST(SpatialLayersReferenceTest, KerasConfigsLoadAndComputeAsKeras) {
  const json ref = load_reference("spatial_layers.json");
  ASSERT_GE(ref["cases"].size(), 12u);
  for (const json& c : ref["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const json envelope = {{"class_name", c["class_name"]}, {"config", c["config"]}};
    auto layer = saving::decode_layer(envelope, "spatial_layers.json").layer;
    ASSERT_TRUE(layer);
    Tensor x = tensor_of(c["input"]);
    std::mt19937_64 rng(1);
    layer->build(x.shape().drop_batch(), Device(), rng);
    std::vector<Tensor> weights;
    for (const char* key : {"kernel", "bias"}) {
      if (c.contains(key)) weights.push_back(tensor_of(c[key]));
    }
    ASSERT_EQ(layer->variables().size(), weights.size());
    kerosene::Layer(layer).set_weights(weights);

    expect_matches(layer->forward(x, /*training=*/true), c["output"], name + ": output");
    expect_matches(layer->backward(tensor_of(c["R"]), /*need_dx=*/true), c["grad_input"], name + ": d/d(input)");
    const char* grad_keys[] = {"grad_kernel", "grad_bias"};
    for (size_t i = 0; i < layer->variables().size(); ++i) {
      expect_matches(layer->variables()[i].grad, c[grad_keys[i]], name + ": d/d(" + layer->variables()[i].name + ")");
    }

    // Written back, the config has Keras' keys, with Keras' values (dtype and initializers
    // are written in their Keras 3.0 forms, which every 3.x reads).
    const json written = saving::layer_envelope(*layer)["config"];
    const json& keras = c["config"];
    for (const auto& [key, value] : keras.items()) {
      ASSERT_TRUE(written.contains(key)) << "kerosene does not write \"" << key << "\"";
      if (key == "dtype" || key.find("initializer") != std::string::npos) continue;
      EXPECT_EQ(written[key], value) << key;
    }
    EXPECT_EQ(written.size(), keras.size()) << written.dump();
  }
}

// --- Errors name the layer, the option and the shapes --------------------------------------------

TEST(SpatialLayersErrorsTest, ShapesThatDoNotFitNameLayerAndShape) {
  std::string m = message_of([] { build_layer(layers::GlobalAveragePooling2D({.name = "gap"}), {5, 3}); });
  expect_contains(m, "GlobalAveragePooling2D layer \"gap\"");
  expect_contains(m, "(5, 3)");
  m = message_of([] { build_layer(layers::UpSampling2D(2, "nearest", "up"), {8}); });
  expect_contains(m, "UpSampling2D layer \"up\"");
  expect_contains(m, "(8,)");
  m = message_of([] { build_layer(layers::ZeroPadding2D(1, "pad"), {4, 4}); });
  expect_contains(m, "ZeroPadding2D layer \"pad\"");
  m = message_of([] { build_layer(layers::Cropping2D({{2, 2}, {0, 0}}, "crop"), {4, 5, 1}); });
  expect_contains(m, "Cropping2D layer \"crop\"");
  expect_contains(m, "((2, 2), (0, 0))");
  expect_contains(m, "(4, 5, 1)");
  m = message_of([] { build_layer(layers::Conv2D(2, 3, {.dilation_rate = 3, .name = "atrous"}), {6, 9, 1}); });
  expect_contains(m, "Conv2D layer \"atrous\"");
  expect_contains(m, "dilated to 7x7");
  expect_contains(m, "(6, 9, 1)");
}

TEST(SpatialLayersErrorsTest, OptionsKerasRefusesOrKeroseneLacks) {
  std::string m = message_of([] { layers::UpSampling2D(2, "bilinear"); });
  expect_contains(m, "UpSampling2D");
  expect_contains(m, "bilinear");
  expect_contains(m, "nearest");
  m = message_of([] { layers::ZeroPadding2D({{1, -1}, {0, 0}}, "pad"); });
  expect_contains(m, "ZeroPadding2D layer \"pad\"");
  expect_contains(m, "((1, -1), (0, 0))");
  m = message_of([] { layers::Cropping2D(-1, "crop"); });
  expect_contains(m, "Cropping2D layer \"crop\"");
  m = message_of([] { layers::UpSampling2D({0, 2}, "nearest", "up"); });
  expect_contains(m, "UpSampling2D layer \"up\"");
  m = message_of([] { layers::Conv2D(4, 3, {.strides = 2, .dilation_rate = 2, .name = "c"}); });
  expect_contains(m, "Conv2D layer \"c\"");
  expect_contains(m, "dilation_rate");
  m = message_of([] { layers::Conv2D(4, 3, {.dilation_rate = {1, 0}, .name = "c"}); });
  expect_contains(m, "dilation_rate must be positive");
}

// The codecs refuse what Keras can write and kerosene cannot compute, naming the option.
TEST(SpatialLayersErrorsTest, UnsupportedKerasOptionsNameLayerAndOption) {
  auto decode_error = [](const std::string& class_name, const json& config) {
    return message_of([&] { saving::decode_layer({{"class_name", class_name}, {"config", config}}, "m.keras"); });
  };
  std::string m = decode_error("UpSampling2D", {{"name", "up"}, {"size", {2, 2}}, {"interpolation", "bilinear"}});
  expect_contains(m, "layer \"up\" (UpSampling2D)");
  expect_contains(m, "interpolation");
  m = decode_error("Rescaling", {{"name", "r"}, {"scale", {0.5, 0.25, 1.0}}, {"offset", 0.0}});
  expect_contains(m, "layer \"r\" (Rescaling)");
  expect_contains(m, "scale");
  m = decode_error("GlobalMaxPooling2D", {{"name", "g"}, {"data_format", "channels_first"}});
  expect_contains(m, "data_format");
  m = decode_error("ZeroPadding2D", {{"name", "z"}, {"padding", {{1, 2}, {3}}}});
  expect_contains(m, "padding");
  m = decode_error("Cropping2D", {{"name", "c"}, {"cropping", {{1, 2}, {3, 4}}}, {"made_up", 1}});
  expect_contains(m, "made_up");
}

// --- Keras' int-or-pair arguments ----------------------------------------------------------------

TEST(SizeArgumentsTest, AnIntMeansTheSameSizeForHeightAndWidth) {
  auto conv = [](const kerosene::Layer& l) { return std::dynamic_pointer_cast<nn::Conv2D>(l.impl())->config(); };
  auto pool = [](const kerosene::Layer& l) { return std::dynamic_pointer_cast<nn::Pooling2D>(l.impl())->config(); };
  const auto a = conv(layers::Conv2D(8, 3, "relu"));
  const auto b = conv(layers::Conv2D(8, {3, 3}, "relu"));  // the pair form, unchanged
  EXPECT_EQ(std::tie(a.kernel_h, a.kernel_w, a.activation), std::tie(b.kernel_h, b.kernel_w, b.activation));
  EXPECT_EQ(a.kernel_h, 3);
  const auto c = conv(layers::Conv2D(8, 5, {.strides = 2, .padding = "same"}));
  EXPECT_EQ(std::tie(c.kernel_h, c.kernel_w, c.stride_h, c.stride_w, c.padding),
            std::make_tuple(5, 5, 2, 2, std::string("same")));
  // (The type named: GCC finds {.strides = {2, 1}} ambiguous with std::string(2, '\1'), as
  // it did when these arguments were pairs.)
  const auto d = conv(layers::Conv2D(8, {3, 2}, layers::Conv2DOptions{.strides = {2, 1}}));
  EXPECT_EQ(std::tie(d.kernel_h, d.kernel_w, d.stride_h, d.stride_w), std::make_tuple(3, 2, 2, 1));
  const auto e = conv(layers::Conv2D(8, std::pair{1, 4}, layers::Conv2DOptions{.dilation_rate = {2, 3}}));
  EXPECT_EQ(std::tie(e.kernel_h, e.kernel_w, e.dilation_h, e.dilation_w), std::make_tuple(1, 4, 2, 3));
  EXPECT_EQ(conv(layers::Conv2D(8, 3)).dilation_h, 1);

  const auto p = pool(layers::MaxPooling2D(3));
  EXPECT_EQ(std::tie(p.pool_h, p.pool_w, p.stride_h, p.stride_w), std::make_tuple(3, 3, 3, 3));
  const auto q = pool(layers::MaxPooling2D());
  EXPECT_EQ(std::tie(q.pool_h, q.pool_w, q.stride_h, q.stride_w), std::make_tuple(2, 2, 2, 2));
  const auto r = pool(layers::AveragePooling2D({3, 2}, {.strides = 1}));
  EXPECT_EQ(std::tie(r.pool_h, r.pool_w, r.stride_h, r.stride_w), std::make_tuple(3, 2, 1, 1));
  const auto s = pool(layers::AveragePooling2D(2, {.strides = std::pair{1, 2}, .padding = "same"}));
  EXPECT_EQ(std::tie(s.pool_h, s.pool_w, s.stride_h, s.stride_w), std::make_tuple(2, 2, 1, 2));
}

}  // namespace
}  // namespace kerosene::test
