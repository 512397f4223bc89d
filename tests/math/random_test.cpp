// math/random.h: Philox-4x32-10, the counter-based generator behind dropout masks and shuffles.
#include "math/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <set>

namespace kerosene::math {
namespace {

TEST(PhiloxTest, MatchesRandom123KnownAnswer) {
  // Random123's kat_vectors (also TensorFlow's Philox test): counter 0, key 0.
  const Philox4 r = philox(0, 0);
  EXPECT_EQ(r.v[0], 0x6627e8d5u);
  EXPECT_EQ(r.v[1], 0xe169c58du);
  EXPECT_EQ(r.v[2], 0xbc57ac4cu);
  EXPECT_EQ(r.v[3], 0x9b00dbd8u);
}

TEST(PhiloxTest, IsAPureFunctionOfSeedAndCounter) {
  for (uint64_t seed : {0ull, 42ull, 0xDEADBEEFCAFEull}) {
    for (uint64_t counter : {0ull, 1ull, 1000ull, 0xFFFFFFFFull, 0x100000000ull}) {
      const Philox4 a = philox(seed, counter), b = philox(seed, counter);
      for (int k = 0; k < 4; ++k) EXPECT_EQ(a.v[k], b.v[k]);
    }
  }
}

TEST(PhiloxTest, DifferentCountersAndSeedsGiveDifferentWords) {
  std::set<uint32_t> words;
  int total = 0;
  for (uint64_t seed : {1ull, 2ull, 1ull << 32, (1ull << 32) + 1}) {  // both halves of the key matter
    for (uint64_t counter : {0ull, 1ull, 2ull, 1ull << 32, (1ull << 32) + 1}) {  // both halves of the counter
      const Philox4 r = philox(seed, counter);
      for (uint32_t w : r.v) words.insert(w), ++total;
    }
  }
  EXPECT_EQ(static_cast<int>(words.size()), total) << "repeated 32-bit words";
}

TEST(PhiloxTest, UniformFromBitsIsInTheHalfOpenUnitInterval) {
  EXPECT_EQ(uniform_from_bits(0u), 0.0f);
  EXPECT_LT(uniform_from_bits(0xFFFFFFFFu), 1.0f);
  EXPECT_GT(uniform_from_bits(0xFFFFFFFFu), 0.9999999f);
  EXPECT_EQ(uniform_from_bits(0x80000000u), 0.5f);
  EXPECT_EQ(uniform_from_bits(0xFFu), 0.0f);  // only the top 24 bits count
}

TEST(PhiloxTest, UniformDrawsHaveTheMomentsOfU01) {
  constexpr int kDraws = 100000;
  double sum = 0, sum_sq = 0;
  int buckets[10] = {};
  for (int i = 0; i < kDraws / 4; ++i) {
    const Philox4 r = philox(2024, static_cast<uint64_t>(i));
    for (uint32_t w : r.v) {
      const float u = uniform_from_bits(w);
      ASSERT_GE(u, 0.0f);
      ASSERT_LT(u, 1.0f);
      sum += u;
      sum_sq += static_cast<double>(u) * u;
      ++buckets[static_cast<int>(u * 10)];
    }
  }
  const double mean = sum / kDraws, var = sum_sq / kDraws - mean * mean;
  // Standard error of the mean: sqrt(1/12 / 1e5) ~ 0.0009; 5 of them.
  EXPECT_NEAR(mean, 0.5, 0.005);
  EXPECT_NEAR(var, 1.0 / 12.0, 0.003);
  for (int b = 0; b < 10; ++b) EXPECT_NEAR(buckets[b], kDraws / 10, 600) << "bucket " << b;  // ~6 sigma
}

}  // namespace
}  // namespace kerosene::math
