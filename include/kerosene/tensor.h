// Tensor: shape + dtype + device + a reference-counted buffer from that device's allocator.
// Views (reshape, slice along the batch dimension) share the buffer.
#pragma once

#include <cstring>
#include <memory>
#include <optional>
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
  /// Copies `values` (whose size must equal shape.numel()) into a new tensor.
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape,
                            const std::optional<Device>& device = std::nullopt) {
    Tensor t = empty(shape, dtype_of<T>(), device);
    t.check_size(values.size());
    t.copy_from_host(values.data(), values.size() * sizeof(T));
    return t;
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

  template <typename T>
  std::vector<T> to_vector() const {
    Tensor host = to(Device());
    const T* p = host.data<T>();
    return std::vector<T>(p, p + numel());
  }
  /// The single element of a one-element float tensor.
  float item() const;

  /// Element-wise scaling, for `x.to_float() / 255.0f`.
  friend Tensor operator*(const Tensor& t, float s);
  friend Tensor operator/(const Tensor& t, float s) { return t * (1.0f / s); }

  const std::shared_ptr<runtime::Storage>& storage() const { return storage_; }

 private:
  void check_access(DType expected) const;
  void check_size(size_t n) const;
  void copy_from_host(const void* src, size_t bytes);

  std::shared_ptr<runtime::Storage> storage_;
  size_t offset_ = 0;  // bytes from the start of the storage
  Shape shape_;
  DType dtype_ = DType::float32;
};

}  // namespace kerosene
