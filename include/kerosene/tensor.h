// Tensor: shape + dtype + device + a reference-counted buffer from that device's allocator.
// Views (reshape, slice along the batch dimension) share the buffer.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <vector>

#include "kerosene/device.h"
#include "kerosene/dtype.h"
#include "kerosene/error.h"
#include "kerosene/shape.h"

namespace kerosene {

namespace runtime {
struct Storage;
}

class Tensor {
 public:
  /// An undefined tensor (no buffer).
  Tensor() = default;

  /// Uninitialized tensor on `device` (default: the current DeviceScope, else /CPU:0).
  static Tensor empty(const Shape& shape, DType dtype = DType::float32,
                      const std::optional<Device>& device = std::nullopt);
  static Tensor zeros(const Shape& shape, DType dtype = DType::float32,
                      const std::optional<Device>& device = std::nullopt);
  static Tensor full(const Shape& shape, float value,
                     const std::optional<Device>& device = std::nullopt);
  /// Copies `values` (whose size must equal shape.numel()) into a new tensor. Any arithmetic
  /// type is accepted: float, int32_t, int64_t and uint8_t as they are, others converted as
  /// storage_type_t says (std::vector<double> becomes float32, std::vector<bool> uint8).
  /// Throws ValueError if the size differs, or a uint64_t value does not fit int64.
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            const std::optional<Device>& device = std::nullopt) {
    static_assert(std::is_arithmetic_v<T>, "from_vector takes numbers");
    using Stored = storage_type_t<T>;
    if constexpr (std::is_same_v<T, Stored>) {
      Tensor t = empty(shape, dtype_of<T>(), device);
      t.check_size(values.size());
      t.copy_from_host(values.data(), values.size() * sizeof(T));
      return t;
    } else {
      std::vector<Stored> converted(values.size());
      for (size_t i = 0; i < values.size(); ++i) {
        if constexpr (std::is_same_v<T, uint64_t> || std::is_same_v<T, unsigned long long>) {
          if (values[i] > static_cast<T>(INT64_MAX)) check_fits_int64(values[i], i);
        }
        converted[i] = static_cast<Stored>(values[i]);
      }
      return from_vector(converted, shape, device);
    }
  }

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  Device device() const;
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  /// Dimension i (negative counts from the end).
  int64_t dim(int i) const { return shape_[i]; }

  /// Host pointer to the elements. Throws if the dtype is not T or the memory is not host memory.
  template <typename T>
  T* data() {
    check_access(dtype_of<T>());
    return static_cast<T*>(raw_data());
  }
  template <typename T>
  const T* data() const {
    check_access(dtype_of<T>());
    return static_cast<const T*>(raw_data());
  }
  /// Pointer to the first element in the device's address space.
  void* raw_data() const;

  /// A view with another shape and the same number of elements; one dimension may be -1.
  Tensor reshape(const Shape& shape) const;
  /// A view of rows [begin, end) along dimension 0.
  Tensor slice(int64_t begin, int64_t end) const;
  /// A copy on `device` (the same tensor if it is already there).
  Tensor to(const Device& device) const;
  /// A float32 copy (uint8 and integer data converted exactly).
  Tensor to_float() const;
  Tensor astype(DType dtype) const;
  Tensor clone() const;

  /// The elements, copied to the host. T is the tensor's element type, or any other
  /// arithmetic type to convert them to (to_vector<double>() of a float32 tensor).
  /// Throws ValueError if T is an element type other than the tensor's.
  template <typename T>
  std::vector<T> to_vector() const {
    static_assert(std::is_arithmetic_v<T>, "to_vector gives numbers");
    if constexpr (is_dtype_element_v<T>) {
      Tensor host = to(Device());
      const T* p = host.data<T>();
      return std::vector<T>(p, p + numel());
    } else {
      std::vector<T> out;
      out.reserve(static_cast<size_t>(numel()));
      auto convert = [&](auto tag) {
        for (auto v : to_vector<decltype(tag)>()) out.push_back(static_cast<T>(v));
      };
      switch (dtype_) {
        case DType::float32: convert(float{}); break;
        case DType::int32: convert(int32_t{}); break;
        case DType::int64: convert(int64_t{}); break;
        case DType::uint8: convert(uint8_t{}); break;
      }
      return out;
    }
  }
  /// The single element of a one-element float tensor.
  float item() const;

  /// Element-wise scaling, for `x.to_float() / 255.0f`. A float temporary that nothing else
  /// shares (the `to_float()` there) is scaled where it lies: a dataset takes one buffer, not two.
  friend Tensor operator*(const Tensor& t, float s);
  friend Tensor operator*(Tensor&& t, float s);
  friend Tensor operator/(const Tensor& t, float s) { return t * (1.0f / s); }
  friend Tensor operator/(Tensor&& t, float s) { return std::move(t) * (1.0f / s); }

  const std::shared_ptr<runtime::Storage>& storage() const { return storage_; }

 private:
  void check_access(DType expected) const;
  void check_size(size_t n) const;
  [[noreturn]] static void check_fits_int64(unsigned long long value, size_t index);
  void copy_from_host(const void* src, size_t bytes);

  std::shared_ptr<runtime::Storage> storage_;
  size_t offset_ = 0;  // bytes from the start of the storage
  Shape shape_;
  DType dtype_ = DType::float32;
};

}  // namespace kerosene
