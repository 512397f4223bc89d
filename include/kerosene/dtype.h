#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kerosene {

enum class DType : uint8_t { float32, int32, int64, uint8 };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::float32; }
template <> constexpr DType dtype_of<int32_t>() { return DType::int32; }
template <> constexpr DType dtype_of<int64_t>() { return DType::int64; }
template <> constexpr DType dtype_of<uint8_t>() { return DType::uint8; }

}  // namespace kerosene
