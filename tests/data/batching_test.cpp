// data::gather_rows: a batch's rows picked by index, copied four rows at a time (batching.cpp),
// against a plain loop, for row sizes around the 64-byte chunk and counts around the four rows.
#include <gtest/gtest.h>

#include <numeric>

#include "data/batching.h"
#include "kerosene/tensor.h"

namespace kerosene {
namespace {

TEST(GatherRows, CopiesThePickedRowsForEveryRowSizeAndCount) {
  const int64_t rows = 23;
  for (int64_t width : {1, 3, 16, 17, 33, 784}) {      // 4 to 3,136 bytes a row
    for (int64_t count : {0, 1, 3, 4, 5, 8, 11}) {
      std::vector<float> values(static_cast<size_t>(rows * width));
      std::iota(values.begin(), values.end(), 0.0f);
      const Tensor src = Tensor::from_vector(values, {rows, width});
      std::vector<int64_t> idx;
      for (int64_t i = 0; i < count; ++i) idx.push_back((i * 7 + 5) % rows);  // out of order, repeats past 23
      Tensor dst = Tensor::full({12, width}, -1.0f);
      data::gather_rows(src, idx.data(), count, dst);
      const auto got = dst.to_vector<float>();
      for (int64_t i = 0; i < 12; ++i) {
        for (int64_t j = 0; j < width; ++j) {
          const float want = i < count ? values[static_cast<size_t>(idx[i] * width + j)] : -1.0f;
          ASSERT_EQ(got[static_cast<size_t>(i * width + j)], want) << "width " << width << ", count " << count
                                                                    << ", row " << i << ", column " << j;
        }
      }
    }
  }
}

TEST(GatherRows, ConvertsBytesToFloats) {
  const Tensor src = Tensor::from_vector(std::vector<uint8_t>{1, 2, 3, 4, 5, 6}, {3, 2});
  const int64_t idx[] = {2, 0, 2, 1, 0};
  Tensor dst = Tensor::zeros({5, 2});
  data::gather_rows(src, idx, 5, dst);
  EXPECT_EQ(dst.to_vector<float>(), (std::vector<float>{5, 6, 1, 2, 5, 6, 3, 4, 1, 2}));
}

}  // namespace
}  // namespace kerosene
