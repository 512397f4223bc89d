// The CPU backend's activations against tests/reference/activations.json (Keras 3's formulas
// in double precision, scripts/make_activation_reference.py): values and derivatives at points
// on both sides of every kink; which of x and y each backward reads; softmax along any axis;
// and the names (Keras' aliases and defaults).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "kerosene/error.h"
#include "nn/activations.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

using backends::ActivationKind;
using backends::ActivationParams;

backends::Backend& cpu() { return backends::backend_for(DeviceType::CPU); }

ActivationParams params_of(const json& c) {
  ActivationParams p = nn::activation_params(nn::parse_activation(c["activation"]));
  const json& given = c["params"];
  if (given.contains("negative_slope")) p.negative_slope = static_cast<float>(given["negative_slope"].get<double>());
  if (given.contains("max_value")) p.max_value = static_cast<float>(given["max_value"].get<double>());
  if (given.contains("threshold")) p.threshold = static_cast<float>(given["threshold"].get<double>());
  return p;
}

std::string describe(const json& c) { return c["activation"].get<std::string>() + " " + c["params"].dump(); }

TEST(ActivationsReferenceTest, ValuesAndDerivativesMatchKerasFormulas) {
  const json ref = load_reference("activations.json");
  const std::vector<float> points = floats_of(ref["points"]);
  const Shape shape{static_cast<int64_t>(points.size())};
  const Tensor x = make_tensor(points, shape);
  ASSERT_GE(ref["cases"].size(), 10u);
  for (const json& c : ref["cases"]) {
    const ActivationParams p = params_of(c);
    Tensor y = Tensor::empty(shape);
    cpu().activation_forward(p, x, y);
    // float32 formulas against double ones rounded to float32: a few ulps.
    expect_close(y, floats_of(c["values"]), 1e-7, 4e-6, describe(c) + " values");

    Tensor dx = Tensor::empty(shape);
    cpu().activation_backward(p, x, y, Tensor::full(shape, 1.0f), dx);
    std::vector<float> got, want;
    const std::vector<float> all = values_of(dx);
    for (size_t i = 0; i < points.size(); ++i) {
      if (c["derivatives"][i].is_null()) continue;  // a kink
      got.push_back(all[i]);
      want.push_back(static_cast<float>(c["derivatives"][i].get<double>()));
    }
    ASSERT_GE(got.size(), points.size() - 2) << describe(c);
    // From the output, 1 - y^2 and the like lose absolute precision near saturation.
    expect_close(got, want, 3e-7, 1e-5, describe(c) + " derivatives");
  }
}

// The contract the layers rely on (backend.h): gelu and silu read x alone, every other kind y
// alone, so a relu fused into the op before it can pass its output for both.
TEST(ActivationsReferenceTest, BackwardReadsOnlyWhatItsKindNeeds) {
  const Shape shape{24};
  const Tensor x = make_tensor(uniform_away_from_zero(24, 3, 0.05f, -4.0f, 4.0f), shape);
  const Tensor nan = Tensor::full(shape, std::numeric_limits<float>::quiet_NaN());
  const Tensor dy = make_tensor(uniform_values(24, 4), shape);
  for (int k = 0; k <= static_cast<int>(ActivationKind::hard_sigmoid); ++k) {
    const ActivationParams p = nn::activation_params(static_cast<ActivationKind>(k));
    Tensor y = Tensor::empty(shape), both = Tensor::empty(shape), one = Tensor::empty(shape);
    cpu().activation_forward(p, x, y);
    cpu().activation_backward(p, x, y, dy, both);
    if (backends::backward_reads_input(p.kind)) {
      cpu().activation_backward(p, x, nan, dy, one);
    } else {
      cpu().activation_backward(p, nan, y, dy, one);
    }
    expect_close(one, values_of(both), 0, 0, nn::activation_name(p.kind) + " backward with the unread input NaN");
  }
}

// Softmax along `axis` of a {2, 3, 4} tensor, and its backward, against loops in double.
void check_softmax_axis(int axis) {
  const Shape shape{2, 3, 4};
  const std::vector<float> xv = uniform_values(24, 5, -3.0f, 3.0f), gv = uniform_values(24, 6);
  const int a = axis < 0 ? axis + 3 : axis;
  std::vector<float> want(24), want_dx(24);
  const int64_t n = shape[a], inner = a == 2 ? 1 : (a == 1 ? 4 : 12);
  for (int64_t i = 0; i < 24; ++i) {
    if ((i / inner) % n != 0) continue;  // i: the first element of one vector
    double m = -1e300, s = 0, dot = 0;
    for (int64_t j = 0; j < n; ++j) m = std::max(m, static_cast<double>(xv[i + j * inner]));
    for (int64_t j = 0; j < n; ++j) s += std::exp(xv[i + j * inner] - m);
    for (int64_t j = 0; j < n; ++j) {
      want[i + j * inner] = static_cast<float>(std::exp(xv[i + j * inner] - m) / s);
      dot += static_cast<double>(want[i + j * inner]) * gv[i + j * inner];
    }
    for (int64_t j = 0; j < n; ++j) want_dx[i + j * inner] = static_cast<float>(want[i + j * inner] * (gv[i + j * inner] - dot));
  }
  ActivationParams p{};
  p.kind = ActivationKind::softmax;
  p.axis = axis;
  const Tensor x = make_tensor(xv, shape);
  Tensor y = Tensor::empty(shape), dx = Tensor::empty(shape);
  cpu().activation_forward(p, x, y);
  expect_close(y, want, 1e-7, 1e-6, "softmax along axis " + std::to_string(axis));
  cpu().activation_backward(p, x, y, make_tensor(gv, shape), dx);
  expect_close(dx, want_dx, 1e-7, 1e-5, "softmax backward along axis " + std::to_string(axis));
}

TEST(ActivationsReferenceTest, SoftmaxAlongAnyAxis) {
  for (int axis : {-1, 2, 1, -2, 0, -3}) check_softmax_axis(axis);
  ActivationParams p{};
  p.kind = ActivationKind::softmax;
  p.axis = 3;
  Tensor x = Tensor::full({2, 3, 4}, 1.0f), y = x.clone();
  EXPECT_THROW(cpu().activation_forward(p, x, y), ValueError);
}

TEST(ActivationsReferenceTest, KerasNamesAliasesAndDefaults) {
  EXPECT_EQ(nn::parse_activation("swish"), ActivationKind::silu);
  EXPECT_EQ(nn::activation_name(ActivationKind::silu), "silu");  // Keras 3 writes silu for swish
  for (const char* name : {"gelu", "silu", "elu", "selu", "leaky_relu", "softplus", "hard_sigmoid", "relu", "sigmoid",
                           "tanh", "softmax", "linear"}) {
    EXPECT_EQ(nn::activation_name(nn::parse_activation(name)), name);
  }
  EXPECT_EQ(nn::parse_activation(""), ActivationKind::linear);
  EXPECT_FLOAT_EQ(nn::activation_params(ActivationKind::leaky_relu).negative_slope, 0.2f);  // the function's
  EXPECT_TRUE(backends::is_plain_relu(nn::activation_params(ActivationKind::relu)));
  try {
    nn::parse_activation("mish");
    ADD_FAILURE() << "mish is no kerosene activation";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("hard_sigmoid"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kerosene::test
