#include "ops/ops.h"

namespace kerosene::ops {

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t || !t->defined()) continue;
    if (!first) {
      first = t;
    } else if (t->storage()->context != first->storage()->context) {
      throw DeviceError(std::string(op) + ": inputs live on different devices (" + first->device().to_string() +
                        " and " + t->device().to_string() + "); copy them to one device with .to()");
    }
  }
}

void check_shape(const char* op, const char* what, const Tensor& t, const Shape& expected) {
  if (t.shape() != expected) {
    throw ValueError(std::string(op) + ": " + what + " has shape " + t.shape().to_string() + ", expected " +
                     expected.to_string());
  }
}

Tensor& ensure(Tensor& t, const Shape& shape, const Device& device, DType dtype) {
  if (!t.defined() || t.shape() != shape || t.dtype() != dtype || t.device() != device) {
    t = Tensor();  // release first, so the allocator can hand the same block back
    t = Tensor::empty(shape, dtype, device);
  }
  return t;
}

void matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, const Tensor* bias, Tensor& c,
            backends::ActivationKind fused, bool accumulate, backends::ComputePrecision precision,
            const backends::RoundedOperand* a16, const backends::RoundedOperand* b16) {
  check_same_device("matmul", {&a, &b, bias, &c});
  const int64_t m = transpose_a ? a.dim(1) : a.dim(0), ka = transpose_a ? a.dim(0) : a.dim(1);
  const int64_t kb = transpose_b ? b.dim(1) : b.dim(0), n = transpose_b ? b.dim(0) : b.dim(1);
  if (a.shape().rank() != 2 || b.shape().rank() != 2 || ka != kb) {
    throw ValueError("matmul: shapes " + a.shape().to_string() + (transpose_a ? "^T" : "") + " and " +
                     b.shape().to_string() + (transpose_b ? "^T" : "") + " do not fit");
  }
  check_shape("matmul", "the output", c, Shape{m, n});
  backend_of("matmul", a).matmul(a, transpose_a, b, transpose_b, bias, c, accumulate, fused, precision, a16, b16);
}

const backends::RoundedOperand* round_operand(const Tensor& x, backends::ComputePrecision precision,
                                              backends::RoundedOperand& copy) {
  backend_of("round_operand", x).round_operand(x, precision, copy);
  return &copy;
}

}  // namespace kerosene::ops
