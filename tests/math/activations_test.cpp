// math/activations.h: the per-element formulas shared by the CPU and CUDA kernels.
#include "math/activations.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace kerosene::math {
namespace {

TEST(MathActivationsTest, SigmoidSaturatesWithoutOverflowAtExtremes) {
  for (float x : {100.0f, 1000.0f, 3.0e38f}) {
    EXPECT_EQ(sigmoid(x), 1.0f) << x;
    EXPECT_FALSE(std::isnan(sigmoid(-x))) << -x;
    EXPECT_GE(sigmoid(-x), 0.0f) << -x;
    EXPECT_LT(sigmoid(-x), 1e-40f) << -x;
  }
  EXPECT_EQ(sigmoid(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_EQ(sigmoid(-std::numeric_limits<float>::infinity()), 0.0f);
}

TEST(MathActivationsTest, SigmoidMatchesTheDefinitionAndIsSymmetric) {
  EXPECT_EQ(sigmoid(0.0f), 0.5f);
  for (float x = -20.0f; x <= 20.0f; x += 0.37f) {
    const double expected = 1.0 / (1.0 + std::exp(-static_cast<double>(x)));
    EXPECT_NEAR(sigmoid(x), expected, 1e-7 + 1e-6 * expected) << x;
    EXPECT_NEAR(sigmoid(-x), 1.0f - sigmoid(x), 1e-7) << x;
  }
}

TEST(MathActivationsTest, GradientsFromOutputsMatchDerivatives) {
  for (float x = -4.0f; x <= 4.0f; x += 0.25f) {
    const double h = 1e-3;
    const double dsig = (1.0 / (1.0 + std::exp(-(x + h))) - 1.0 / (1.0 + std::exp(-(x - h)))) / (2 * h);
    EXPECT_NEAR(sigmoid_grad_from_output(sigmoid(x)), dsig, 1e-6) << x;
    const double dtanh = (std::tanh(x + h) - std::tanh(x - h)) / (2 * h);
    EXPECT_NEAR(tanh_grad_from_output(tanh_act(x)), dtanh, 1e-6) << x;
    EXPECT_NEAR(tanh_act(x), std::tanh(static_cast<double>(x)), 1e-6) << x;
  }
  // Saturated: the gradient vanishes, it does not turn negative or NaN.
  EXPECT_EQ(sigmoid_grad_from_output(sigmoid(100.0f)), 0.0f);
  EXPECT_EQ(tanh_grad_from_output(tanh_act(100.0f)), 0.0f);
  EXPECT_EQ(tanh_grad_from_output(tanh_act(-100.0f)), 0.0f);
}

TEST(MathActivationsTest, Relu) {
  EXPECT_EQ(relu(2.5f), 2.5f);
  EXPECT_EQ(relu(-2.5f), 0.0f);
  EXPECT_EQ(relu(0.0f), 0.0f);
  EXPECT_EQ(relu_grad_from_output(2.5f), 1.0f);
  EXPECT_EQ(relu_grad_from_output(0.0f), 0.0f);  // TF: relu'(0) = 0
}

}  // namespace
}  // namespace kerosene::math
