// The op layer: argument checks, then dispatch on the tensors' device to that device's backend.
// Layers call these and never know which device they run on.
#pragma once

#include <initializer_list>
#include <string>

#include "backends/backend.h"
#include "kerosene/error.h"
#include "runtime/device_context.h"
#include "runtime/storage.h"

namespace kerosene::ops {

/// The backend that owns `t`'s memory, where op `op` runs; logs the placement when
/// config::set_log_device_placement(true) asked for it.
inline backends::Backend& backend_of(const char* op, const Tensor& t) {
  runtime::DeviceContext* context = t.storage()->context;
  if (runtime::log_device_placement()) runtime::log_op_placement(op, context->device());
  return context->backend();
}

/// The backend of `device` (a layer asking what its device's kernels can fuse).
inline backends::Backend& backend_for(const Device& device) {
  return runtime::Registry::instance().context(device).backend();
}

/// Throws DeviceError unless every defined tensor lives on the same device as the first.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);

/// Throws ValueError if `t` does not have shape `expected`.
void check_shape(const char* op, const char* what, const Tensor& t, const Shape& expected);

/// Reuses `t` when it already has this shape, dtype and device, else allocates it: layers keep
/// their buffers across steps, so a training step in steady state allocates nothing.
Tensor& ensure(Tensor& t, const Shape& shape, const Device& device, DType dtype = DType::float32);

void matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b, const Tensor* bias,
            Tensor& c, backends::ActivationKind fused = backends::ActivationKind::linear,
            bool accumulate = false,
            backends::ComputePrecision precision = backends::ComputePrecision::float32,
            const backends::RoundedOperand* a16 = nullptr, const backends::RoundedOperand* b16 = nullptr);

/// `copy` filled with `x` rounded to `precision` where x's backend keeps such copies (the CPU);
/// else, and for float32, left holding nothing. Returns it, for matmul's a16/b16.
const backends::RoundedOperand* round_operand(const Tensor& x, backends::ComputePrecision precision,
                                              backends::RoundedOperand& copy);

}  // namespace kerosene::ops
