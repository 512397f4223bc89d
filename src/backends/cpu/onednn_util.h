// Helpers shared by the oneDNN kernels of the CPU backend.
#pragma once

#include <omp.h>

#include "backends/cpu/onednn.h"
#include "backends/cpu/precision_support.h"

namespace kerosene::backends::cpu {

using dnnl::memory;
using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

using Key = std::vector<int64_t>;

struct ThreadCaches {
  // oneDNN sizes a primitive for the OpenMP threads of the thread creating it, and would then
  // run an OpenMP parallel region on every call: pin every thread that uses oneDNN to one.
  ThreadCaches() { omp_set_num_threads(1); }
  std::map<Key, std::unique_ptr<CachedPrimitive>> primitives;
};

inline ThreadCaches& caches() {
  thread_local ThreadCaches c;
  return c;
}

inline dnnl::primitive_attr user_scratchpad_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// Fills the entry's scratchpad from its primitive descriptor.
template <typename PD>
void finish_entry(CachedPrimitive& e, const PD& pd, dnnl::engine& engine) {
  const memory::desc sd = pd.scratchpad_desc();
  e.scratchpad_buffer.resize(sd.get_size() + 64);
  void* aligned = e.scratchpad_buffer.data() + (64 - reinterpret_cast<uintptr_t>(e.scratchpad_buffer.data()) % 64) % 64;
  e.scratchpad = memory(sd, engine, aligned);
}

inline memory::desc nhwc(int64_t n, int64_t h, int64_t w, int64_t c, dt type = dt::f32) {
  return {{n, c, h, w}, type, tag::nhwc};
}

/// oneDNN's type for the operands of a matmul or convolution computed in `precision`.
inline dt operand_type(ComputePrecision precision) {
  switch (precision) {
    case ComputePrecision::bfloat16: return dt::bf16;
    case ComputePrecision::float16: return dt::f16;
    default: return dt::f32;
  }
}


inline Key conv_key(int64_t kind, const Conv2DParams& p, int64_t extra) {
  return {kind, p.batch, p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c, p.kernel_h, p.kernel_w,
          p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right, p.dilation_h, p.dilation_w,
          p.groups, extra};
}

// A reorder between the user's layout and the layout a primitive chose.
inline std::unique_ptr<CachedPrimitive> make_reorder(const memory::desc& from, const memory::desc& to,
                                              dnnl::engine& engine) {
  auto e = std::make_unique<CachedPrimitive>();
  memory src(from, engine, DNNL_MEMORY_NONE), dst(to, engine, DNNL_MEMORY_NONE);
  dnnl::reorder::primitive_desc pd(src, dst, user_scratchpad_attr());
  e->primitive = dnnl::reorder(pd);
  e->arg_ids = {DNNL_ARG_FROM, DNNL_ARG_TO};
  e->args = {src, dst};
  finish_entry(*e, pd, engine);
  return e;
}

}  // namespace kerosene::backends::cpu
