// Shape: element counts, Python-style negative indices, and the strings Keras prints.
#include <gtest/gtest.h>

#include "kerosene/error.h"
#include "kerosene/shape.h"

namespace kerosene {
namespace {

TEST(ShapeTest, NumelIsTheProductOfDimensions) {
  EXPECT_EQ(Shape({32, 28, 28, 1}).numel(), 32 * 28 * 28);
  EXPECT_EQ(Shape({7}).numel(), 7);
  EXPECT_EQ(Shape({4, 0, 3}).numel(), 0);
  EXPECT_EQ(Shape().numel(), 1);  // a scalar holds one element
  EXPECT_EQ(Shape().rank(), 0);
  EXPECT_EQ(Shape({2, 3, 4}).numel_from(1), 12);
}

TEST(ShapeTest, NegativeIndexCountsFromTheEnd) {
  const Shape c{2, 3, 4};
  EXPECT_EQ(c[0], 2);
  EXPECT_EQ(c[-1], 4);
  EXPECT_EQ(c[-2], 3);
  EXPECT_THROW(c[-4], ValueError);
  EXPECT_THROW(c[3], ValueError);
  Shape s{2, 3, 4};
  EXPECT_EQ(s[0], 2);
  EXPECT_EQ(s[-1], 4);
  EXPECT_EQ(s[-3], 2);
  s[-1] = 9;
  EXPECT_EQ(s[2], 9);
  EXPECT_THROW(s[3], ValueError);
  EXPECT_THROW(s[-4], ValueError);
}

TEST(ShapeTest, ToStringMatchesPythonAndKeras) {
  EXPECT_EQ(Shape({32, 28, 28, 1}).to_string(), "(32, 28, 28, 1)");
  EXPECT_EQ(Shape({5}).to_string(), "(5,)");  // a Python 1-tuple
  EXPECT_EQ(Shape().to_string(), "()");
  EXPECT_EQ(Shape({0, 26, 26, 32}).to_string(/*batch_as_none=*/true), "(None, 26, 26, 32)");
  EXPECT_EQ(Shape({26, 26, 32}).with_batch(0).to_string(true), "(None, 26, 26, 32)");
  EXPECT_EQ(Shape({0}).to_string(true), "(None)");
}

TEST(ShapeTest, BatchHelpersAndEquality) {
  Shape sample{28, 28, 1};
  Shape batch = sample.with_batch(64);
  EXPECT_EQ(batch, Shape({64, 28, 28, 1}));
  EXPECT_EQ(batch.drop_batch(), sample);
  EXPECT_NE(sample, Shape({28, 28}));
  EXPECT_NE(Shape({28, 28}), sample);  // a prefix is not the same shape
  EXPECT_NE(Shape(), Shape({1}));
  EXPECT_NE(sample, Shape({28, 28, 3}));
  EXPECT_EQ(Shape(std::vector<int64_t>{1, 2, 3}), Shape({1, 2, 3}));
  EXPECT_EQ(batch.to_vector(), (std::vector<int64_t>{64, 28, 28, 1}));
}

TEST(ShapeTest, RankIsBounded) {
  Shape s;
  for (int i = 0; i < Shape::kMaxRank; ++i) s.push_back(1);
  EXPECT_THROW(s.push_back(1), ValueError);
}

}  // namespace
}  // namespace kerosene
