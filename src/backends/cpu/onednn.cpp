#include "backends/cpu/onednn.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/parallel.h"

#include <omp.h>

#include <cstdio>

#include "backends/cpu/cpu_backend.h"
#include "kerosene/error.h"

namespace kerosene::backends::cpu {
namespace {
std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}
}  // namespace

void require_cpu_precision(ComputePrecision precision, unsigned isa) {
  if (precision == ComputePrecision::float32) return;
  if (precision == ComputePrecision::float16) {
    throw DeviceError("float16 compute (the mixed_float16 dtype policy) on the CPU needs oneDNN float16 matmul and "
                      "convolution kernels (AVX512-FP16, oneDNN 3.x); this build's oneDNN " + onednn_version() +
                      " has none. Use \"mixed_bfloat16\" or \"float32\" on the CPU");
  }
  const unsigned bf16 = dnnl_cpu_isa_avx512_core_bf16;
  if ((isa & bf16) != bf16) {
    throw DeviceError("bfloat16 compute (the mixed_bfloat16 dtype policy) on the CPU needs AVX512-BF16 (or AMX), "
                      "which this CPU lacks (oneDNN's ISA 0x" + [isa] {
                        char buf[16];
                        std::snprintf(buf, sizeof buf, "%x", isa);
                        return std::string(buf);
                      }() + "); use the \"float32\" policy here");
  }
}

unsigned cpu_isa_bits() {
  static const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  return isa;
}

void require_cpu_precision(ComputePrecision precision) { require_cpu_precision(precision, cpu_isa_bits()); }

bool cpu_computes_in(ComputePrecision precision) {
  try {
    require_cpu_precision(precision);
    return true;
  } catch (const DeviceError&) {
    return false;
  }
}

OneDnn::OneDnn() : engine_(dnnl::engine::kind::cpu, 0) {}

void OneDnn::execute(CachedPrimitive& p, std::initializer_list<const void*> pointers) {
  dnnl_exec_arg_t args[8];
  int n = 0;
  for (const void* ptr : pointers) {
    p.args[n].set_data_handle(const_cast<void*>(ptr));
    args[n] = {p.arg_ids[n], p.args[n].get()};
    ++n;
  }
  args[n++] = {DNNL_ARG_SCRATCHPAD, p.scratchpad.get()};
  omp_set_num_threads(1);  // parallelism comes from ParallelTeam, never from OpenMP barriers
  thread_local dnnl::stream stream(engine_);  // one per thread: team helpers run primitives too
  dnnl_status_t status = dnnl_primitive_execute(p.primitive.get(), stream.get(), n, args);
  if (status != dnnl_success) {
    throw DeviceError("oneDNN primitive failed with status " + std::to_string(status));
  }
}

namespace {

// One matmul call: c (m x n, row stride ldc) = op(a) @ op(b), with leading dimensions, so a
// chunk of a larger product is described by offsets and the same strides.
struct MatmulCall {
  int64_t m, n, k, lda, ldb, ldc;
  bool transpose_a, transpose_b, bias, accumulate;
  ActivationKind fused;
  ComputePrecision precision;
};

CachedPrimitive& matmul_entry(const MatmulCall& mc, dnnl::engine& engine) {
  Key key{0, mc.m, mc.n, mc.k, mc.lda, mc.ldb, mc.ldc, mc.transpose_a, mc.transpose_b, mc.bias, mc.accumulate,
          static_cast<int64_t>(mc.fused), static_cast<int64_t>(mc.precision)};
  auto& slot = caches().primitives[key];
  if (slot) return *slot;
  auto e = std::make_unique<CachedPrimitive>();
  const dt operand = operand_type(mc.precision);
  memory::desc a_md({mc.m, mc.k}, operand, mc.transpose_a ? memory::dims{1, mc.lda} : memory::dims{mc.lda, 1});
  memory::desc b_md({mc.k, mc.n}, operand, mc.transpose_b ? memory::dims{1, mc.ldb} : memory::dims{mc.ldb, 1});
  memory::desc c_md({mc.m, mc.n}, dt::f32, memory::dims{mc.ldc, 1});
  memory::desc bias_md({1, mc.n}, dt::f32, memory::dims{mc.n, 1});
  dnnl::primitive_attr attr = user_scratchpad_attr();
  dnnl::post_ops ops;
  if (mc.accumulate) ops.append_sum(1.0f);
  if (mc.fused == ActivationKind::relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  attr.set_post_ops(ops);
  auto desc = mc.bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
  dnnl::matmul::primitive_desc pd(desc, attr, engine);
  e->primitive = dnnl::matmul(pd);
  e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
  e->args = {memory(a_md, engine, DNNL_MEMORY_NONE), memory(b_md, engine, DNNL_MEMORY_NONE),
             memory(c_md, engine, DNNL_MEMORY_NONE)};
  if (mc.bias) {
    e->arg_ids.push_back(DNNL_ARG_BIAS);
    e->args.push_back(memory(bias_md, engine, DNNL_MEMORY_NONE));
  }
  finish_entry(*e, pd, engine);
  slot = std::move(e);
  return *slot;
}

}  // namespace

const void* OneDnn::rounded(const Tensor& t, ComputePrecision precision, int slot) {
  if (precision == ComputePrecision::float32) return t.raw_data();
  thread_local std::vector<uint16_t> buffers[4];
  std::vector<uint16_t>& buffer = buffers[slot];
  const int64_t n = t.numel();
  if (buffer.size() < static_cast<size_t>(n)) buffer.resize(static_cast<size_t>(n));
  round_into(t, precision, buffer.data());
  return buffer.data();
}

const void* OneDnn::rounded(const Tensor& t, ComputePrecision precision, const RoundedOperand* copy, int slot) {
  if (precision == ComputePrecision::float32) return t.raw_data();
  if (copy != nullptr && copy->holds(t, precision)) return copy->bits.data();
  return rounded(t, precision, slot);
}

void OneDnn::round_into(const Tensor& t, ComputePrecision precision, uint16_t* to) {
  require_cpu_precision(precision);
  const int64_t n = t.numel();
  // 1-D reorders, one range per team member: oneDNN's conversion rounds to nearest even with
  // the CPU's instructions. It is a pass over memory as long as a small matmul itself.
  const float* from = static_cast<const float*>(t.raw_data());
  parallel_ranges(threads_for_elements(n), n, [&](int64_t begin, int64_t end) {
    const int64_t size = end - begin;
    auto& entry = caches().primitives[Key{10, size, static_cast<int64_t>(precision)}];
    if (!entry) {
      entry = make_reorder(memory::desc({size}, dt::f32, tag::a), memory::desc({size}, operand_type(precision), tag::a),
                           engine_);
    }
    execute(*entry, {from + begin, to + begin});
  });
}

void OneDnn::matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    const Tensor* bias, Tensor& c, bool accumulate, ActivationKind fused, ComputePrecision precision,
                    const RoundedOperand* a16, const RoundedOperand* b16) {
  const int64_t m = c.dim(0), n = c.dim(1);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const MatmulCall whole{m, n, k, a.dim(1), b.dim(1), n, transpose_a, transpose_b, bias != nullptr, accumulate, fused,
                         precision};
  // Byte pointers: an operand's elements are 4 bytes (float32) or 2 (16-bit copies).
  const size_t operand_size = precision == ComputePrecision::float32 ? 4 : 2;
  const char* pa = static_cast<const char*>(rounded(a, precision, a16, 0));
  const char* pb = static_cast<const char*>(rounded(b, precision, b16, 1));
  const float* pbias = bias ? static_cast<const float*>(bias->raw_data()) : nullptr;
  float* pc = static_cast<float*>(c.raw_data());
  // Split into one block per thread; each block is a matmul of its own. Rows are preferred:
  // a block of columns makes B strided, and oneDNN 2.6's gemm then ran at half speed (a 32x784
  // by 784x64 block of a 784x128 B took twice as long as the whole product).
  const int chunks = threads_for(2.0 * m * n * k);
  const bool split_rows = m >= 8 * chunks || m >= n;
  const int64_t extent = split_rows ? m : n;
  const int64_t block = (extent + chunks - 1) / chunks;
  ParallelTeam::instance().run(chunks, [&](int chunk) {
    const int64_t begin = chunk * block, size = std::min(extent, begin + block) - begin;
    if (size <= 0) return;
    MatmulCall part = whole;
    const char *ca = pa, *cb = pb;
    const float* cbias = pbias;
    float* cc = pc;
    if (split_rows) {
      part.m = size;
      ca += (transpose_a ? begin : begin * whole.lda) * operand_size;
      cc += begin * whole.ldc;
    } else {
      part.n = size;
      cb += (transpose_b ? begin * whole.ldb : begin) * operand_size;
      cc += begin;
      if (cbias) cbias += begin;
    }
    CachedPrimitive& e = matmul_entry(part, engine_);
    if (cbias) {
      execute(e, {ca, cb, cc, cbias});
    } else {
      execute(e, {ca, cb, cc});
    }
  });
}

}  // namespace kerosene::backends::cpu
