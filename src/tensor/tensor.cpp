#include "kerosene/tensor.h"

#include "backends/backend.h"
#include "kerosene/device_scope.h"
#include "runtime/device_context.h"
#include "runtime/storage.h"

namespace kerosene {
namespace {

runtime::DeviceContext& context_for(const std::optional<Device>& device) {
  return runtime::Registry::instance().context(device ? *device : DeviceScope::current());
}

}  // namespace

Tensor Tensor::empty(const Shape& shape, DType dtype, const std::optional<Device>& device) {
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] < 0) throw ValueError("cannot create a tensor of shape " + shape.to_string() + ": negative dimension");
  }
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = std::make_shared<runtime::Storage>(&context_for(device), t.nbytes());
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, const std::optional<Device>& device) {
  Tensor t = empty(shape, dtype, device);
  if (t.nbytes() > 0) {
    if (dtype == DType::float32) {
      t.storage_->context->backend().fill(t, 0.0f);
    } else {
      std::vector<uint8_t> zero(t.nbytes(), 0);
      t.copy_from_host(zero.data(), zero.size());
    }
  }
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, const std::optional<Device>& device) {
  Tensor t = empty(shape, DType::float32, device);
  if (t.numel() > 0) t.storage_->context->backend().fill(t, value);
  return t;
}

Device Tensor::device() const { return storage_ ? storage_->context->device() : Device(); }

void* Tensor::raw_data() const {
  if (!storage_) throw ValueError("the tensor is undefined (default-constructed)");
  return static_cast<char*>(storage_->data) + offset_;
}

void Tensor::check_access(DType expected) const {
  if (!storage_) throw ValueError("the tensor is undefined (default-constructed)");
  if (expected != dtype_) {
    throw ValueError("tensor of dtype " + std::string(dtype_name(dtype_)) + " accessed as " +
                     std::string(dtype_name(expected)));
  }
  if (!storage_->context->backend().host_accessible()) {
    throw DeviceError("the tensor lives on " + device().to_string() +
                      ", which the host cannot read; copy it with .to(Device()) first");
  }
}

void Tensor::check_size(size_t n) const {
  if (static_cast<int64_t>(n) != numel()) {
    throw ValueError("shape " + shape_.to_string() + " holds " + std::to_string(numel()) +
                     " elements, but " + std::to_string(n) + " values were given");
  }
}

void Tensor::copy_from_host(const void* src, size_t bytes) {
  storage_->context->backend().copy_from_host(raw_data(), src, bytes);
}

Tensor Tensor::reshape(const Shape& shape) const {
  const Shape out = shape.resolve_wildcard(numel());
  if (out.numel() != numel()) {
    throw ValueError("cannot reshape a tensor of shape " + shape_.to_string() + " (" +
                     std::to_string(numel()) + " elements) to " + shape.to_string());
  }
  Tensor t = *this;
  t.shape_ = out;
  return t;
}

Tensor Tensor::slice(int64_t begin, int64_t end) const {
  if (shape_.rank() == 0 || begin < 0 || end < begin || end > shape_[0]) {
    throw ValueError("slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                     ") is out of range for a tensor of shape " + shape_.to_string());
  }
  Tensor t = *this;
  t.shape_[0] = end - begin;
  t.offset_ += static_cast<size_t>(begin) * shape_.numel_from(1) * dtype_size(dtype_);
  return t;
}

Tensor Tensor::to(const Device& device) const {
  if (this->device() == device) return *this;
  Tensor t = empty(shape_, dtype_, device);
  if (runtime::log_device_placement()) {
    runtime::log_copy(*this, device);
  }
  auto& src = storage_->context->backend();
  auto& dst = t.storage_->context->backend();
  if (src.host_accessible()) {
    dst.copy_from_host(t.raw_data(), raw_data(), nbytes());
  } else if (dst.host_accessible()) {
    src.copy_to_host(t.raw_data(), raw_data(), nbytes());
  } else {
    std::vector<uint8_t> staging(nbytes());
    src.copy_to_host(staging.data(), raw_data(), nbytes());
    dst.copy_from_host(t.raw_data(), staging.data(), nbytes());
  }
  return t;
}

void Tensor::check_fits_int64(unsigned long long value, size_t index) {
  throw ValueError("from_vector: values[" + std::to_string(index) + "] = " + std::to_string(value) +
                   " does not fit int64, the widest integer dtype");
}

Tensor Tensor::astype(DType dtype) const {
  Tensor t = empty(shape_, dtype, device());
  storage_->context->backend().cast(*this, t, 1.0f);
  return t;
}

Tensor Tensor::to_float() const { return astype(DType::float32); }

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_, device());
  storage_->context->backend().copy_on_device(t.raw_data(), raw_data(), nbytes());
  return t;
}

float Tensor::item() const {
  if (numel() != 1) throw ValueError("item() needs a one-element tensor, got shape " + shape_.to_string());
  return to_vector<float>()[0];
}

Tensor operator*(const Tensor& t, float s) {
  Tensor out = Tensor::empty(t.shape(), DType::float32, t.device());
  t.storage()->context->backend().cast(t, out, s);
  return out;
}

Tensor operator*(Tensor&& t, float s) {
  if (t.dtype() != DType::float32 || t.storage().use_count() != 1) return static_cast<const Tensor&>(t) * s;
  t.storage()->context->backend().cast(t, t, s);  // element-wise: safe in place on every backend
  return std::move(t);
}

}  // namespace kerosene
