// RoundedOperand: a 16-bit copy of a matmul operand made once and used by later products. A
// product takes the copy only while it holds that operand (same data, size and precision); the
// copy's contents are what it multiplies, so a copy that was used shows in the result.
#include <gtest/gtest.h>

#include "backends/backend.h"
#include "backends/cpu/precision_support.h"
#include "ops/ops.h"
#include "test_util.h"

namespace kerosene {
namespace {

using backends::ActivationKind;
using backends::ComputePrecision;
using backends::RoundedOperand;

class RoundedOperandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!backends::cpu::cpu_computes_in(ComputePrecision::bfloat16)) {
      GTEST_SKIP() << "this CPU has no AVX512-BF16: the CPU backend refuses bfloat16 compute";
    }
  }
  static std::vector<float> product(const Tensor& a, const Tensor& b, const RoundedOperand* a16,
                                    const RoundedOperand* b16, ComputePrecision p = ComputePrecision::bfloat16) {
    Tensor c = Tensor::zeros({a.dim(0), b.dim(1)});
    ops::matmul(a, false, b, false, nullptr, c, ActivationKind::linear, false, p, a16, b16);
    return c.to_vector<float>();
  }
};

TEST_F(RoundedOperandTest, AProductWithCopiesEqualsOneThatRoundsItself) {
  const Tensor a = test::make_tensor(test::uniform_values(37 * 53, 1), {37, 53});
  const Tensor b = test::make_tensor(test::uniform_values(53 * 19, 2), {53, 19});
  RoundedOperand a16, b16;
  ops::round_operand(a, ComputePrecision::bfloat16, a16);
  ops::round_operand(b, ComputePrecision::bfloat16, b16);
  ASSERT_TRUE(a16.holds(a, ComputePrecision::bfloat16));
  EXPECT_EQ(product(a, b, &a16, &b16), product(a, b, nullptr, nullptr));
}

TEST_F(RoundedOperandTest, AProductUsesTheCopyItHoldsAndIgnoresOthers) {
  Tensor a = test::make_tensor(test::uniform_values(8 * 16, 3), {8, 16});
  const Tensor b = test::make_tensor(test::uniform_values(16 * 4, 4), {16, 4});
  const auto before = product(a, b, nullptr, nullptr);
  RoundedOperand a16;
  ops::round_operand(a, ComputePrecision::bfloat16, a16);
  a.data<float>()[0] += 100.0f;  // the copy still holds a's old values: it is the owner's to refresh
  EXPECT_EQ(product(a, b, &a16, nullptr), before);
  EXPECT_NE(product(a, b, nullptr, nullptr), before);

  const Tensor other = a.clone();  // same values, other data: the copy does not hold it
  EXPECT_FALSE(a16.holds(other, ComputePrecision::bfloat16));
  EXPECT_EQ(product(other, b, &a16, nullptr), product(other, b, nullptr, nullptr));
  EXPECT_FALSE(a16.holds(a, ComputePrecision::float16));  // another precision: rounded afresh
}

TEST_F(RoundedOperandTest, Float32KeepsNoCopy) {
  const Tensor a = test::make_tensor(test::uniform_values(6, 5), {2, 3});
  RoundedOperand copy;
  ops::round_operand(a, ComputePrecision::float32, copy);
  EXPECT_FALSE(copy.holds(a, ComputePrecision::float32));
  EXPECT_TRUE(copy.bits.empty());
}

}  // namespace
}  // namespace kerosene
