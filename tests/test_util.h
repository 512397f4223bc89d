// Helpers shared by the numerical tests: tensors from vectors and from the Keras reference
// files (tests/reference/*.json, written by scripts/make_reference_values.py), fixed random
// data, closeness assertions that name the first elements that differ, central finite
// differences, and naive loop implementations of the layers' forward passes (the reference the
// oneDNN kernels are checked against, with TensorFlow's 'same' padding: extra pixel after).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kerosene/layers.h"
#include "kerosene/tensor.h"
#include "nn/layer.h"

namespace kerosene::test {

using json = nlohmann::json;

/// Parses tests/reference/<name> (e.g. "layers.json"). Fails the test if it cannot be read.
inline json load_reference(const std::string& name) {
  const std::string path = std::string(KEROSENE_SOURCE_DIR) + "/tests/reference/" + name;
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot open reference file " << path;
    return json::object();
  }
  return json::parse(in);
}

/// The elements of a JSON number array as float32 (each parsed as a double, then rounded: the
/// generator wrote the shortest decimal that round-trips to the float32 Keras produced).
inline std::vector<float> floats_of(const json& values) {
  std::vector<float> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(static_cast<float>(v.get<double>()));
  return out;
}

inline Shape shape_of(const json& dims) {
  std::vector<int64_t> d;
  for (const auto& v : dims) d.push_back(v.get<int64_t>());
  return Shape(d);
}

/// A {"shape": [...], "values": [...]} object as a float32 tensor.
inline Tensor tensor_of(const json& t) {
  return Tensor::from_vector(floats_of(t.at("values")), shape_of(t.at("shape")));
}

/// A {"shape": [...], "values": [...]} object of integers (class labels) as an int32 tensor.
inline Tensor int_tensor_of(const json& t) {
  std::vector<int32_t> v;
  for (const auto& e : t.at("values")) v.push_back(e.get<int32_t>());
  return Tensor::from_vector(v, shape_of(t.at("shape")));
}

inline Tensor make_tensor(const std::vector<float>& values, const Shape& shape) {
  return Tensor::from_vector(values, shape);
}

inline std::vector<float> values_of(const Tensor& t) { return t.to_vector<float>(); }

/// n values uniform in [lo, hi) from a fixed seed.
inline std::vector<float> uniform_values(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

/// n values uniform in [lo, hi) whose magnitude is at least `margin` (away from relu's kink).
inline std::vector<float> uniform_away_from_zero(int64_t n, uint64_t seed, float margin, float lo = -1.0f,
                                                 float hi = 1.0f) {
  std::vector<float> v = uniform_values(n, seed, lo, hi);
  for (auto& x : v) {
    if (std::fabs(x) < margin) x = x < 0 ? x - margin : x + margin;
  }
  return v;
}

/// n distinct values, a random permutation of {step * (i - n/2)}: no ties, so max pooling's
/// winner in each window is unambiguous and stays so under perturbations below step/2.
inline std::vector<float> distinct_values(int64_t n, uint64_t seed, float step = 0.01f, float offset = 0.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = offset + step * static_cast<float>(i - n / 2);
  std::mt19937_64 rng(seed);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

/// sum(y * r) in double: the scalar objective of the gradient checks.
inline double weighted_sum(const Tensor& y, const std::vector<float>& r) {
  const std::vector<float> v = y.to_vector<float>();
  EXPECT_EQ(v.size(), r.size());
  double s = 0;
  for (size_t i = 0; i < v.size() && i < r.size(); ++i) s += static_cast<double>(v[i]) * r[i];
  return s;
}

/// Expects |actual - expected| <= atol + rtol * max(|actual|, |expected|) element-wise; on
/// failure prints the number of offending elements and the first few.
inline void expect_close(const std::vector<float>& actual, const std::vector<float>& expected, double atol,
                         double rtol, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what << ": sizes differ";
  int bad = 0;
  std::ostringstream detail;
  double worst = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const double diff = std::fabs(a - e);
    const double tol = atol + rtol * std::max(std::fabs(a), std::fabs(e));
    worst = std::max(worst, diff);
    if (!(diff <= tol)) {  // NaN fails too
      if (bad < 6) detail << "\n  [" << i << "] actual " << a << " expected " << e << " (diff " << diff << ")";
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << actual.size() << " elements differ (max abs diff "
                    << worst << ", atol " << atol << ", rtol " << rtol << ")" << detail.str();
}

inline void expect_close(const Tensor& actual, const std::vector<float>& expected, double atol, double rtol,
                         const std::string& what) {
  expect_close(actual.to_vector<float>(), expected, atol, rtol, what);
}

/// The max-abs-diff test the reference comparisons use: |a - e| <= tol * max(1, max|e|).
inline void expect_max_abs_diff(const std::vector<float>& actual, const std::vector<float>& expected, double tol,
                                const std::string& what) {
  double scale = 1.0;
  for (float e : expected) scale = std::max(scale, static_cast<double>(std::fabs(e)));
  expect_close(actual, expected, tol * scale, 0.0, what);
}

/// Central differences of f() w.r.t. each of the n floats at `data` (each restored after use).
/// The step actually taken (after rounding to float32) is the denominator.
inline std::vector<float> numeric_gradient(float* data, int64_t n, float eps, const std::function<double()>& f) {
  std::vector<float> g(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float original = data[i];
    const float plus = original + eps, minus = original - eps;
    data[i] = plus;
    const double f_plus = f();
    data[i] = minus;
    const double f_minus = f();
    data[i] = original;
    g[i] = static_cast<float>((f_plus - f_minus) / (static_cast<double>(plus) - static_cast<double>(minus)));
  }
  return g;
}

/// Tolerances of the finite-difference checks in float32.
constexpr double kGradRtol = 1e-2;
constexpr double kGradAtol = 1e-3;

// --- layers: built from a public factory, variables filled, naive forward references -----

/// The implementation behind a public layer, built for one sample of `input` on /CPU:0.
inline std::shared_ptr<nn::Layer> build_layer(const kerosene::Layer& handle, const Shape& input,
                                              uint64_t seed = 7) {
  std::mt19937_64 rng(seed);
  auto impl = handle.impl();
  impl->build(input, Device(), rng);
  return impl;
}

/// Overwrites every variable with uniform values in [-scale, scale), from `seed`.
inline void randomize_variables(nn::Layer& layer, uint64_t seed, float scale = 1.0f) {
  for (auto& v : layer.variables()) {
    std::vector<float> values = uniform_values(v.value.numel(), seed++, -scale, scale);
    std::copy(values.begin(), values.end(), v.value.data<float>());
  }
}

/// Copies the variables' values of `from` into `to` (same architecture).
inline void copy_variables(nn::Layer& from, nn::Layer& to) {
  auto& a = from.variables();
  auto& b = to.variables();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    std::vector<float> values = a[i].value.to_vector<float>();
    std::copy(values.begin(), values.end(), b[i].value.data<float>());
  }
}

inline float min_abs(const std::vector<float>& v) {
  float m = std::numeric_limits<float>::infinity();
  for (float x : v) m = std::min(m, std::fabs(x));
  return m;
}

// --- naive references -----------------------------------------------------------------------

struct RefPad {
  int64_t out, before;
};

/// TensorFlow's padding rule, written independently of src/nn: 'same' gives ceil(in / stride)
/// outputs and puts the odd padding pixel after.
inline RefPad ref_padding(const std::string& padding, int64_t in, int64_t k, int64_t s) {
  if (padding == "valid") return {(in - k) / s + 1, 0};
  const int64_t out = (in + s - 1) / s;
  const int64_t total = std::max<int64_t>((out - 1) * s + k - in, 0);
  return {out, total / 2};
}

/// Keras' activations by name (string defaults), in double, written independently of src/math.
inline void ref_activation(const std::string& act, std::vector<float>& v, int64_t cols) {
  auto each = [&](auto f) {
    for (auto& x : v) x = static_cast<float>(f(static_cast<double>(x)));
  };
  auto sigmoid = [](double x) { return 1.0 / (1.0 + std::exp(-x)); };
  if (act == "gelu") {
    each([](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); });
  } else if (act == "silu" || act == "swish") {
    each([&](double x) { return x * sigmoid(x); });
  } else if (act == "elu") {
    each([](double x) { return x > 0 ? x : std::exp(x) - 1.0; });
  } else if (act == "selu") {
    each([](double x) { return 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (std::exp(x) - 1.0)); });
  } else if (act == "leaky_relu") {
    each([](double x) { return x > 0 ? x : 0.2 * x; });
  } else if (act == "softplus") {
    each([](double x) { return std::log(1.0 + std::exp(x)); });
  } else if (act == "hard_sigmoid") {
    each([](double x) { return std::max(0.0, std::min(1.0, x / 6.0 + 0.5)); });
  } else if (act == "relu") {
    for (auto& x : v) x = x > 0 ? x : 0;
  } else if (act == "sigmoid") {
    for (auto& x : v) x = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(x))));
  } else if (act == "tanh") {
    for (auto& x : v) x = static_cast<float>(std::tanh(static_cast<double>(x)));
  } else if (act == "softmax") {
    for (size_t r = 0; r < v.size() / cols; ++r) {
      double m = -1e300, s = 0;
      for (int64_t j = 0; j < cols; ++j) m = std::max(m, static_cast<double>(v[r * cols + j]));
      for (int64_t j = 0; j < cols; ++j) s += std::exp(v[r * cols + j] - m);
      for (int64_t j = 0; j < cols; ++j) v[r * cols + j] = static_cast<float>(std::exp(v[r * cols + j] - m) / s);
    }
  }
}

/// y = act(x @ kernel + bias), x (rows, in), kernel (in, units).
inline std::vector<float> ref_dense(const std::vector<float>& x, const std::vector<float>& kernel,
                                    const std::vector<float>* bias, int64_t in, int64_t units,
                                    const std::string& act) {
  const int64_t rows = static_cast<int64_t>(x.size()) / in;
  std::vector<float> y(rows * units);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t u = 0; u < units; ++u) {
      double s = bias ? (*bias)[u] : 0.0;
      for (int64_t i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * kernel[i * units + u];
      y[r * units + u] = static_cast<float>(s);
    }
  }
  ref_activation(act, y, units);
  return y;
}

/// NHWC convolution with an HWIO kernel, its taps dh (dw) pixels apart (Keras' dilation_rate).
inline std::vector<float> ref_conv2d(const std::vector<float>& x, const Shape& xs, const std::vector<float>& w,
                                     const Shape& ws, const std::vector<float>* bias, int sh, int sw,
                                     const std::string& padding, const std::string& act, int dh = 1, int dw = 1) {
  const int64_t n = xs[0], h = xs[1], wd = xs[2], c = xs[3], kh = ws[0], kw = ws[1], f = ws[3];
  // The padding rule sees the dilated kernel's extent.
  const RefPad ph = ref_padding(padding, h, (kh - 1) * dh + 1, sh), pw = ref_padding(padding, wd, (kw - 1) * dw + 1, sw);
  std::vector<float> y(n * ph.out * pw.out * f);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oh = 0; oh < ph.out; ++oh)
      for (int64_t ow = 0; ow < pw.out; ++ow)
        for (int64_t o = 0; o < f; ++o) {
          double s = bias ? (*bias)[o] : 0.0;
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = oh * sh - ph.before + i * dh, iw = ow * sw - pw.before + j * dw;
              if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
              for (int64_t ci = 0; ci < c; ++ci) {
                s += static_cast<double>(x[((b * h + ih) * wd + iw) * c + ci]) * w[((i * kw + j) * c + ci) * f + o];
              }
            }
          y[((b * ph.out + oh) * pw.out + ow) * f + o] = static_cast<float>(s);
        }
  ref_activation(act, y, f);
  return y;
}

/// Max or average pooling, NHWC; padded positions are ignored (TF: the average counts only the
/// real inputs of a window).
inline std::vector<float> ref_pool2d(bool max, const std::vector<float>& x, const Shape& xs, int pool_h,
                                     int pool_w, int sh, int sw, const std::string& padding) {
  const int64_t n = xs[0], h = xs[1], wd = xs[2], c = xs[3];
  const RefPad ph = ref_padding(padding, h, pool_h, sh), pw = ref_padding(padding, wd, pool_w, sw);
  std::vector<float> y(n * ph.out * pw.out * c);
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oh = 0; oh < ph.out; ++oh)
      for (int64_t ow = 0; ow < pw.out; ++ow)
        for (int64_t ch = 0; ch < c; ++ch) {
          double acc = max ? -1e300 : 0.0;
          int count = 0;
          for (int i = 0; i < pool_h; ++i)
            for (int j = 0; j < pool_w; ++j) {
              const int64_t ih = oh * sh - ph.before + i, iw = ow * sw - pw.before + j;
              if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
              const double v = x[((b * h + ih) * wd + iw) * c + ch];
              acc = max ? std::max(acc, v) : acc + v;
              ++count;
            }
          y[((b * ph.out + oh) * pw.out + ow) * c + ch] = static_cast<float>(max ? acc : acc / count);
        }
  return y;
}

/// BatchNormalization of a rows x cols array (channels last), in double: with the batch's
/// mean and biased variance per column, or with `moving` = {mean, variance} when given.
inline std::vector<float> ref_batch_norm(const std::vector<float>& x, int64_t cols, const std::vector<float>* gamma,
                                         const std::vector<float>* beta, double epsilon,
                                         const std::pair<std::vector<float>, std::vector<float>>* moving) {
  const int64_t rows = static_cast<int64_t>(x.size()) / cols;
  std::vector<float> y(x.size());
  for (int64_t c = 0; c < cols; ++c) {
    double mean = 0, var = 0;
    if (moving) {
      mean = moving->first[c];
      var = moving->second[c];
    } else {
      for (int64_t r = 0; r < rows; ++r) mean += x[r * cols + c];
      mean /= rows;
      for (int64_t r = 0; r < rows; ++r) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
      var /= rows;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const double x_hat = (x[r * cols + c] - mean) / std::sqrt(var + epsilon);
      y[r * cols + c] = static_cast<float>(x_hat * (gamma ? (*gamma)[c] : 1.0) + (beta ? (*beta)[c] : 0.0));
    }
  }
  return y;
}

/// LayerNormalization of each row of a rows x cols array, in double.
inline std::vector<float> ref_layer_norm(const std::vector<float>& x, int64_t cols, const std::vector<float>* gamma,
                                         const std::vector<float>* beta, double epsilon) {
  std::vector<float> y(x.size());
  for (size_t r = 0; r < x.size() / cols; ++r) {
    const float* xr = x.data() + r * cols;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < cols; ++j) mean += xr[j];
    mean /= cols;
    for (int64_t j = 0; j < cols; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    var /= cols;
    for (int64_t j = 0; j < cols; ++j) {
      const double x_hat = (xr[j] - mean) / std::sqrt(var + epsilon);
      y[r * cols + j] = static_cast<float>(x_hat * (gamma ? (*gamma)[j] : 1.0) + (beta ? (*beta)[j] : 0.0));
    }
  }
  return y;
}

}  // namespace kerosene::test
