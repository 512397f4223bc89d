// DType: element sizes and names.
#include <gtest/gtest.h>

#include <cstdint>

#include "kerosene/dtype.h"

namespace kerosene {
namespace {

TEST(DTypeTest, SizesMatchTheCTypes) {
  EXPECT_EQ(dtype_size(DType::float32), sizeof(float));
  EXPECT_EQ(dtype_size(DType::int32), sizeof(int32_t));
  EXPECT_EQ(dtype_size(DType::int64), sizeof(int64_t));
  EXPECT_EQ(dtype_size(DType::uint8), sizeof(uint8_t));
}

TEST(DTypeTest, NamesAndDtypeOf) {
  EXPECT_EQ(dtype_name(DType::float32), "float32");
  EXPECT_EQ(dtype_name(DType::int32), "int32");
  EXPECT_EQ(dtype_name(DType::int64), "int64");
  EXPECT_EQ(dtype_name(DType::uint8), "uint8");
  static_assert(dtype_of<float>() == DType::float32);
  static_assert(dtype_of<int32_t>() == DType::int32);
  static_assert(dtype_of<int64_t>() == DType::int64);
  static_assert(dtype_of<uint8_t>() == DType::uint8);
}

}  // namespace
}  // namespace kerosene
