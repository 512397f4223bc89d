// Tensor: creation, views that share storage, copies that do not, conversions and the errors
// for misuse.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "kerosene/error.h"
#include "kerosene/tensor.h"

namespace kerosene {
namespace {

TEST(TensorTest, DefaultIsUndefined) {
  Tensor t;
  EXPECT_FALSE(t.defined());
  EXPECT_THROW(t.raw_data(), ValueError);
  EXPECT_THROW(t.data<float>(), ValueError);
}

TEST(TensorTest, EmptyHasShapeDtypeAndDevice) {
  Tensor t = Tensor::empty({2, 3}, DType::int32);
  EXPECT_TRUE(t.defined());
  EXPECT_EQ(t.shape(), Shape({2, 3}));
  EXPECT_EQ(t.dtype(), DType::int32);
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.nbytes(), 24u);
  EXPECT_EQ(t.dim(-1), 3);
  EXPECT_EQ(t.device(), Device());
  EXPECT_THROW(Tensor::empty({2, -3}), ValueError);
}

TEST(TensorTest, ZerosAndFull) {
  EXPECT_EQ(Tensor::zeros({2, 2}).to_vector<float>(), std::vector<float>(4, 0.0f));
  EXPECT_EQ(Tensor::zeros({3}, DType::uint8).to_vector<uint8_t>(), std::vector<uint8_t>(3, 0));
  EXPECT_EQ(Tensor::zeros({2}, DType::int64).to_vector<int64_t>(), std::vector<int64_t>(2, 0));
  EXPECT_EQ(Tensor::full({5}, 2.5f).to_vector<float>(), std::vector<float>(5, 2.5f));
  EXPECT_EQ(Tensor::full({0, 4}, 1.0f).numel(), 0);
}

TEST(TensorTest, FromVectorCopiesAndChecksTheSize) {
  std::vector<float> values{1, 2, 3, 4, 5, 6};
  Tensor t = Tensor::from_vector(values, {2, 3});
  values[0] = 100;  // the tensor holds its own copy
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  try {
    Tensor::from_vector(std::vector<float>{1, 2, 3}, {2, 2});
    FAIL() << "a size mismatch was accepted";
  } catch (const ValueError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("(2, 2)"), std::string::npos) << message;
    EXPECT_NE(message.find("4 elements"), std::string::npos) << message;
    EXPECT_NE(message.find("3 values"), std::string::npos) << message;
  }
}

TEST(TensorTest, ReshapeInfersOneDimensionAndSharesStorage) {
  Tensor t = Tensor::from_vector(std::vector<float>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4});
  Tensor r = t.reshape({2, -1, 3});
  EXPECT_EQ(r.shape(), Shape({2, 2, 3}));
  EXPECT_EQ(t.reshape({-1}).shape(), Shape({12}));
  EXPECT_EQ(r.raw_data(), t.raw_data());
  r.data<float>()[11] = -1;
  EXPECT_EQ(t.to_vector<float>()[11], -1);
  EXPECT_EQ(t.shape(), Shape({3, 4}));  // the original keeps its shape
}

TEST(TensorTest, BadReshapeSaysWhy) {
  Tensor t = Tensor::zeros({3, 4});
  try {
    t.reshape({5, -1});
    FAIL() << "reshaping 12 elements to (5, -1) was accepted";
  } catch (const ValueError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("(3, 4)"), std::string::npos) << message;
    EXPECT_NE(message.find("12 elements"), std::string::npos) << message;
  }
  EXPECT_THROW(t.reshape({5, 2}), ValueError);
  EXPECT_THROW(t.reshape({-1, -1}), ValueError);
}

TEST(TensorTest, SliceIsAViewOfRows) {
  Tensor t = Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7}, {4, 2});
  Tensor s = t.slice(1, 3);
  EXPECT_EQ(s.shape(), Shape({2, 2}));
  EXPECT_EQ(s.to_vector<int32_t>(), (std::vector<int32_t>{2, 3, 4, 5}));
  EXPECT_EQ(s.storage(), t.storage());
  s.data<int32_t>()[0] = 42;  // writes through to the original
  EXPECT_EQ(t.to_vector<int32_t>()[2], 42);
  EXPECT_EQ(t.slice(4, 4).numel(), 0);
  EXPECT_THROW(t.slice(3, 5), ValueError);
  EXPECT_THROW(t.slice(2, 1), ValueError);
  EXPECT_THROW(t.slice(-1, 2), ValueError);
}

TEST(TensorTest, ToFloatConvertsBytesExactlyAndDivides) {
  Tensor bytes = Tensor::from_vector(std::vector<uint8_t>{0, 1, 128, 255}, {2, 2});
  Tensor f = bytes.to_float();
  EXPECT_EQ(f.dtype(), DType::float32);
  EXPECT_EQ(f.shape(), Shape({2, 2}));
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{0, 1, 128, 255}));
  Tensor scaled = bytes.to_float() / 255.0f;
  std::vector<float> v = scaled.to_vector<float>();
  EXPECT_FLOAT_EQ(v[0], 0.0f);
  EXPECT_FLOAT_EQ(v[2], 128.0f / 255.0f);
  EXPECT_FLOAT_EQ(v[3], 1.0f);
  EXPECT_EQ((f * 2.0f).to_vector<float>(), (std::vector<float>{0, 2, 256, 510}));
  EXPECT_EQ(Tensor::from_vector(std::vector<int64_t>{-3, 7}, {2}).astype(DType::float32).to_vector<float>(),
            (std::vector<float>{-3, 7}));
}

TEST(TensorTest, ScalingATemporaryReusesItsBufferAndLeavesSharedOnesAlone) {
  Tensor bytes = Tensor::from_vector(std::vector<uint8_t>{0, 3, 128, 255}, {4});
  Tensor f = bytes.to_float();
  const void* buffer = f.raw_data();
  Tensor scaled = std::move(f) / 255.0f;  // what `bytes.to_float() / 255.0f` does to its temporary
  EXPECT_EQ(scaled.raw_data(), buffer);
  EXPECT_EQ(scaled.to_vector<float>(), (bytes * (1.0f / 255.0f)).to_vector<float>()) << "the same bits as a copy";

  Tensor shared = Tensor::from_vector(std::vector<float>{1, 2}, {2});
  Tensor view = shared;  // a second owner of the storage: scaling a moved copy must not reach it
  Tensor doubled = std::move(view) * 2.0f;
  EXPECT_NE(doubled.raw_data(), shared.raw_data());
  EXPECT_EQ(shared.to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ(doubled.to_vector<float>(), (std::vector<float>{2, 4}));

  Tensor ints = Tensor::from_vector(std::vector<int32_t>{2, 4}, {2});
  Tensor halves = std::move(ints) * 0.5f;  // not float: a new float tensor
  EXPECT_EQ(halves.dtype(), DType::float32);
  EXPECT_EQ(halves.to_vector<float>(), (std::vector<float>{1, 2}));
}

TEST(TensorTest, CloneIsIndependent) {
  Tensor a = Tensor::full({3}, 1.0f);
  Tensor b = a.clone();
  EXPECT_NE(b.storage(), a.storage());
  b.data<float>()[0] = 5.0f;
  EXPECT_EQ(a.to_vector<float>(), (std::vector<float>{1, 1, 1}));
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{5, 1, 1}));
  Tensor view = a.slice(1, 3).clone();  // a clone of a view copies only the view's rows
  EXPECT_EQ(view.numel(), 2);
}

TEST(TensorTest, DataWithTheWrongDtypeThrows) {
  Tensor t = Tensor::zeros({2}, DType::uint8);
  try {
    t.data<float>();
    FAIL() << "uint8 data was handed out as float";
  } catch (const ValueError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("uint8"), std::string::npos) << message;
    EXPECT_NE(message.find("float32"), std::string::npos) << message;
  }
  EXPECT_THROW(t.to_vector<int32_t>(), ValueError);
  EXPECT_NO_THROW(t.data<uint8_t>());
}

TEST(TensorTest, ItemNeedsOneElement) {
  EXPECT_EQ(Tensor::full({1}, 3.5f).item(), 3.5f);
  EXPECT_EQ(Tensor::full({1, 1, 1}, -2.0f).item(), -2.0f);
  EXPECT_THROW(Tensor::full({2}, 1.0f).item(), ValueError);
  EXPECT_THROW(Tensor::zeros({1}, DType::int32).item(), ValueError);  // item() reads float
}

TEST(TensorTest, ToTheSameDeviceIsTheSameTensor) {
  Tensor t = Tensor::zeros({4});
  EXPECT_EQ(t.to(Device()).storage(), t.storage());
}

}  // namespace
}  // namespace kerosene
