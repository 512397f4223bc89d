// The CPU backend's oneDNN-backed entries, and the backend registry.
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn.h"
#include "kerosene/error.h"

namespace kerosene::backends {
namespace cpu {

void CpuBackend::matmul(const Tensor& a, bool ta, const Tensor& b, bool tb, const Tensor* bias, Tensor& c,
                        bool accumulate, ActivationKind fused, ComputePrecision precision, const RoundedOperand* a16,
                        const RoundedOperand* b16) {
  onednn_->matmul(a, ta, b, tb, bias, c, accumulate, fused, precision, a16, b16);
}
void CpuBackend::round_operand(const Tensor& x, ComputePrecision precision, RoundedOperand& copy) {
  if (precision == ComputePrecision::float32) {
    copy.source = nullptr;
    return;
  }
  copy.source = nullptr;  // holds nothing until the bits are whole (round_into may throw)
  copy.bits.resize(static_cast<size_t>(x.numel()));
  onednn_->round_into(x, precision, copy.bits.data());
  copy.source = x.raw_data();
  copy.numel = x.numel();
  copy.precision = precision;
}
void CpuBackend::conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                                Tensor& y, ActivationKind fused, ComputePrecision precision,
                                const RoundedOperand* x16, const RoundedOperand* w16) {
  onednn_->conv2d_forward(p, x, w, bias, y, fused, precision, x16, w16);
}
void CpuBackend::conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w, Tensor& dx,
                                      ComputePrecision precision, const RoundedOperand* dy16,
                                      const RoundedOperand* w16) {
  onednn_->conv2d_backward_data(p, dy, w, dx, precision, dy16, w16);
}
void CpuBackend::conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy, Tensor& dw,
                                         Tensor* db, ComputePrecision precision, const RoundedOperand* x16,
                                         const RoundedOperand* dy16) {
  onednn_->conv2d_backward_weights(p, x, dy, dw, db, precision, x16, dy16);
}

}  // namespace cpu

Backend& backend_for(DeviceType type) {
  if (type == DeviceType::CPU) {
    static cpu::CpuBackend* backend = new cpu::CpuBackend();  // never destroyed: outlives tensors
    return *backend;
  }
  // GPU backends are one per physical device, owned by the runtime (runtime/device_context.cpp).
  throw DeviceError("backend_for serves the CPU only; GPU backends belong to their devices");
}

}  // namespace kerosene::backends
