#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace kerosene {

enum class DType : uint8_t { float32, int32, int64, uint8 };

size_t dtype_size(DType dtype);
std::string_view dtype_name(DType dtype);

/// Whether T is the element type of a DType (float, int32_t, int64_t, uint8_t).
template <typename T>
inline constexpr bool is_dtype_element_v = std::is_same_v<T, float> || std::is_same_v<T, int32_t> ||
                                           std::is_same_v<T, int64_t> || std::is_same_v<T, uint8_t>;

/// The DType whose elements are T; another T is a compile-time error (Tensor::from_vector and
/// to_vector convert other arithmetic types through storage_type_t).
template <typename T>
constexpr DType dtype_of() {
  static_assert(is_dtype_element_v<T>, "no DType holds this element type; use float, int32_t, int64_t or uint8_t");
  if constexpr (std::is_same_v<T, float>) return DType::float32;
  if constexpr (std::is_same_v<T, int32_t>) return DType::int32;
  if constexpr (std::is_same_v<T, int64_t>) return DType::int64;
  return DType::uint8;
}

/// The element type that holds values of the arithmetic type T, as numpy users expect:
/// double and long double -> float (rounded), bool and unsigned char -> uint8_t, other integers of
/// up to 32 bits (16-bit unsigned included) -> int32_t, wider ones and 32-bit unsigned -> int64_t.
template <typename T>
using storage_type_t = std::conditional_t<
    std::is_floating_point_v<T>, float,
    std::conditional_t<std::is_same_v<T, bool> || (std::is_unsigned_v<T> && sizeof(T) == 1), uint8_t,
                       std::conditional_t<(std::is_signed_v<T> && sizeof(T) <= 4) ||
                                              (std::is_unsigned_v<T> && sizeof(T) <= 2),
                                          int32_t, int64_t>>>;

}  // namespace kerosene
