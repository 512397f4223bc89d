// math/losses.h: Keras' clipping and the binary cross-entropy terms, including their behaviour
// at the extremes where a naive formula overflows or takes log(0).
#include "math/losses.h"

#include <gtest/gtest.h>

#include <cmath>

#include "math/activations.h"

namespace kerosene::math {
namespace {

TEST(MathLossesTest, ClipProbabilityClipsToKerasEpsilon) {
  EXPECT_EQ(kLossEpsilon, 1e-7f);
  EXPECT_EQ(clip_probability(0.0f), 1e-7f);
  EXPECT_EQ(clip_probability(-3.0f), 1e-7f);
  EXPECT_EQ(clip_probability(1e-9f), 1e-7f);
  EXPECT_EQ(clip_probability(1.0f), 1.0f - 1e-7f);
  EXPECT_EQ(clip_probability(2.0f), 1.0f - 1e-7f);
  EXPECT_EQ(clip_probability(0.99999994f), 1.0f - 1e-7f);  // the float just below 1
  for (float p : {1e-7f, 2e-7f, 0.25f, 0.5f, 0.999f, 1.0f - 1e-7f}) EXPECT_EQ(clip_probability(p), p) << p;
}

TEST(MathLossesTest, BinaryCrossentropyFromProbabilitiesIsFiniteAtZeroAndOne) {
  EXPECT_NEAR(binary_crossentropy(0.0f, 1.0f), -std::log(1e-7), 1e-4);
  EXPECT_NEAR(binary_crossentropy(1.0f, 1.0f), 0.0f, 1e-6);
  EXPECT_NEAR(binary_crossentropy(0.0f, 0.0f), 0.0f, 1e-6);
  EXPECT_TRUE(std::isfinite(binary_crossentropy(1.0f, 0.0f)));
  EXPECT_NEAR(binary_crossentropy(0.25f, 1.0f), -std::log(0.25), 1e-6);
  EXPECT_NEAR(binary_crossentropy(0.25f, 0.0f), -std::log(0.75), 1e-6);
  EXPECT_NEAR(binary_crossentropy(0.25f, 0.5f), -0.5 * (std::log(0.25) + std::log(0.75)), 1e-6);
  // Clipped inputs get no gradient (as TensorFlow's clip_by_value); others d/dp exactly.
  EXPECT_EQ(binary_crossentropy_grad(0.0f, 1.0f), 0.0f);
  EXPECT_EQ(binary_crossentropy_grad(1.0f, 0.0f), 0.0f);
  EXPECT_NEAR(binary_crossentropy_grad(0.25f, 1.0f), -4.0, 1e-5);
  EXPECT_NEAR(binary_crossentropy_grad(0.25f, 0.0f), 1.0 / 0.75, 1e-5);
}

TEST(MathLossesTest, BinaryCrossentropyFromLogitsIsStableAtExtremes) {
  // Exact values: max(z,0) - z t + log(1 + exp(-|z|)).
  EXPECT_NEAR(binary_crossentropy_logits(100.0f, 1.0f), 0.0f, 1e-30);
  EXPECT_NEAR(binary_crossentropy_logits(100.0f, 0.0f), 100.0f, 1e-5);
  EXPECT_NEAR(binary_crossentropy_logits(-100.0f, 1.0f), 100.0f, 1e-5);
  EXPECT_NEAR(binary_crossentropy_logits(-100.0f, 0.0f), 0.0f, 1e-30);
  EXPECT_NEAR(binary_crossentropy_logits(100.0f, 0.25f), 75.0f, 1e-4);
  EXPECT_NEAR(binary_crossentropy_logits(1e30f, 0.0f), 1e30f, 1e24);
  EXPECT_TRUE(std::isfinite(binary_crossentropy_logits(-1e30f, 0.5f)));
  EXPECT_NEAR(binary_crossentropy_logits(0.0f, 1.0f), std::log(2.0), 1e-7);
}

TEST(MathLossesTest, BinaryCrossentropyFromLogitsEqualsTheProbabilityFormula) {
  for (float z = -8.0f; z <= 8.0f; z += 0.5f) {
    for (float t : {0.0f, 0.3f, 1.0f}) {
      const double p = 1.0 / (1.0 + std::exp(-static_cast<double>(z)));
      const double expected = -(t * std::log(p) + (1 - t) * std::log(1 - p));
      EXPECT_NEAR(binary_crossentropy_logits(z, t), expected, 1e-5 * (1 + expected)) << z << " " << t;
      // d/dz = sigmoid(z) - t, by central differences in double.
      const double h = 1e-3;
      auto f = [&](double zz) {
        const double pp = 1.0 / (1.0 + std::exp(-zz));
        return -(t * std::log(pp) + (1 - t) * std::log(1 - pp));
      };
      EXPECT_NEAR(sigmoid(z) - t, (f(z + h) - f(z - h)) / (2 * h), 1e-5) << z << " " << t;
    }
  }
}

}  // namespace
}  // namespace kerosene::math
