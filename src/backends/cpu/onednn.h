// oneDNN state of the CPU backend (matmul and convolution; pooling is in pooling.cpp): one
// engine, and caches of primitives keyed by shape. Each cached entry owns its memory objects
// and a user-managed scratchpad, so executing it allocates nothing of ours; only pointers
// change between calls. Caches are per calling thread: team helpers and the replicas of a
// mirrored model run the same shapes concurrently, and a scratchpad must not be shared.
// Every primitive runs on one OpenMP thread; ParallelTeam splits large ops between threads.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <map>
#include <memory>
#include <vector>

#include "backends/backend.h"

namespace kerosene::backends::cpu {

/// A primitive ready to run: its arguments' memory objects in a fixed order.
struct CachedPrimitive {
  dnnl::primitive primitive;
  std::vector<int> arg_ids;
  std::vector<dnnl::memory> args;
  dnnl::memory scratchpad;
  std::vector<uint8_t> scratchpad_buffer;
  // Weights oneDNN wants in another layout: reorder to/from the user's (Keras) layout.
  std::unique_ptr<CachedPrimitive> to_internal, from_internal;
  dnnl::memory internal;  // the reordered tensor
};

class OneDnn {
 public:
  OneDnn();

  /// Runs `p` with the given data pointers, one per argument, in `arg_ids` order.
  void execute(CachedPrimitive& p, std::initializer_list<const void*> pointers);

  // precision: float32, or bfloat16/float16 (inputs and weights rounded into this thread's
  // buffers by a oneDNN reorder, then a primitive with 16-bit sources and float32 results).
  void matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
              const Tensor* bias, Tensor& c, bool accumulate, ActivationKind fused, ComputePrecision precision,
              const RoundedOperand* a16, const RoundedOperand* b16);
  void conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                      Tensor& y, ActivationKind fused, ComputePrecision precision, const RoundedOperand* x16,
                      const RoundedOperand* w16);
  void conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w, Tensor& dx,
                            ComputePrecision precision, const RoundedOperand* dy16, const RoundedOperand* w16);
  void conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy, Tensor& dw,
                               Tensor* db, ComputePrecision precision, const RoundedOperand* x16,
                               const RoundedOperand* dy16);

  /// `t` (float32) rounded to `precision` in buffer `slot` of this thread (0..3), reused
  /// between calls; the tensor's own pointer for float32.
  const void* rounded(const Tensor& t, ComputePrecision precision, int slot);
  /// `copy`'s bits where it holds `t` in `precision`, else rounded(t, precision, slot).
  const void* rounded(const Tensor& t, ComputePrecision precision, const RoundedOperand* copy, int slot);
  /// `t` (float32) rounded to `precision` (16-bit) into `to` (t.numel() elements).
  void round_into(const Tensor& t, ComputePrecision precision, uint16_t* to);

 private:
  // One chunk of the batch, on the calling thread. x, w, dy: in the precision's type.
  void conv2d_forward_chunk(const Conv2DParams& p, const void* x, const void* w, const float* bias, float* y,
                            ActivationKind fused, ComputePrecision precision);
  void conv2d_backward_data_chunk(const Conv2DParams& p, const void* dy, const void* w, float* dx,
                                  ComputePrecision precision);
  void conv2d_backward_weights_chunk(const Conv2DParams& p, const void* x, const void* dy, float* dw, float* db,
                                     ComputePrecision precision);

  dnnl::engine engine_;
};

}  // namespace kerosene::backends::cpu
