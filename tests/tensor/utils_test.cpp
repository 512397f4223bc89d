// utils::to_categorical and argmax against what Keras and NumPy return, and Tensor's
// conversions from and to other arithmetic types.
#include <gtest/gtest.h>

#include "cli_util.h"
#include "kerosene/utils.h"

namespace kerosene {
namespace {

TEST(Utils, ToCategoricalAsKeras) {
  const Tensor y = Tensor::from_vector(std::vector<int32_t>{0, 2, 1}, {3});
  const Tensor one_hot = utils::to_categorical(y, 3);
  EXPECT_EQ(one_hot.shape(), Shape({3, 3}));
  EXPECT_EQ(one_hot.to_vector<float>(), (std::vector<float>{1, 0, 0, 0, 0, 1, 0, 1, 0}));
  // num_classes inferred; a trailing dimension of 1 is dropped, as Keras does.
  const Tensor column = Tensor::from_vector(std::vector<uint8_t>{3, 1}, {2, 1});
  EXPECT_EQ(utils::to_categorical(column).shape(), Shape({2, 4}));
  EXPECT_THROW(utils::to_categorical(y, 2), ValueError);
  EXPECT_THROW(utils::to_categorical(Tensor::from_vector(std::vector<float>{0.5f}, {1})), ValueError);
  EXPECT_THROW(utils::to_categorical(Tensor::from_vector(std::vector<int32_t>{-1}, {1})), ValueError);
}

TEST(Utils, ArgmaxAsNumpy) {
  const Tensor x = Tensor::from_vector(std::vector<float>{0.1f, 0.7f, 0.2f, 0.5f, 0.5f, 0.0f}, {2, 3});
  EXPECT_EQ(utils::argmax(x).to_vector<int64_t>(), (std::vector<int64_t>{1, 0}));  // ties: the first
  EXPECT_EQ(utils::argmax(x).shape(), Shape({2}));
  EXPECT_EQ(utils::argmax(x, 0).to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 0}));
  EXPECT_THROW(utils::argmax(x, 2), ValueError);
  EXPECT_THROW(utils::argmax(Tensor::zeros({2, 0})), ValueError);
}

TEST(TensorConversions, FromAndToOtherArithmeticTypes) {
  const Tensor d = Tensor::from_vector(std::vector<double>{0.5, -2.25}, {2});
  EXPECT_EQ(d.dtype(), DType::float32);
  EXPECT_EQ(d.to_vector<double>(), (std::vector<double>{0.5, -2.25}));
  const Tensor b = Tensor::from_vector(std::vector<bool>{true, false}, {2});
  EXPECT_EQ(b.dtype(), DType::uint8);
  EXPECT_EQ(Tensor::from_vector(std::vector<int16_t>{-3}, {1}).dtype(), DType::int32);
  EXPECT_EQ(Tensor::from_vector(std::vector<uint32_t>{4000000000u}, {1}).to_vector<int64_t>(),
            (std::vector<int64_t>{4000000000}));
  EXPECT_THROW(Tensor::from_vector(std::vector<uint64_t>{~uint64_t{0}}, {1}), ValueError);
  EXPECT_EQ(Tensor::from_vector(std::vector<long>{7}, {1}).to_vector<long>(), (std::vector<long>{7}));
}

}  // namespace
}  // namespace kerosene
