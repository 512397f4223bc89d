#include "backends/cpu/onednn.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/parallel.h"

#include <omp.h>

#include "backends/cpu/cpu_backend.h"
#include "kerosene/error.h"

namespace kerosene::backends::cpu {



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
};

CachedPrimitive& matmul_entry(const MatmulCall& mc, dnnl::engine& engine) {
  Key key{0, mc.m, mc.n, mc.k, mc.lda, mc.ldb, mc.ldc, mc.transpose_a, mc.transpose_b, mc.bias, mc.accumulate,
          static_cast<int64_t>(mc.fused)};
  auto& slot = caches().primitives[key];
  if (slot) return *slot;
  auto e = std::make_unique<CachedPrimitive>();
  memory::desc a_md({mc.m, mc.k}, dt::f32, mc.transpose_a ? memory::dims{1, mc.lda} : memory::dims{mc.lda, 1});
  memory::desc b_md({mc.k, mc.n}, dt::f32, mc.transpose_b ? memory::dims{1, mc.ldb} : memory::dims{mc.ldb, 1});
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

void OneDnn::matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    const Tensor* bias, Tensor& c, bool accumulate, ActivationKind fused) {
  const int64_t m = c.dim(0), n = c.dim(1);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const MatmulCall whole{m, n, k, a.dim(1), b.dim(1), n, transpose_a, transpose_b, bias != nullptr, accumulate, fused};
  const float* pa = static_cast<const float*>(a.raw_data());
  const float* pb = static_cast<const float*>(b.raw_data());
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
    const float *ca = pa, *cb = pb, *cbias = pbias;
    float* cc = pc;
    if (split_rows) {
      part.m = size;
      ca += transpose_a ? begin : begin * whole.lda;
      cc += begin * whole.ldc;
    } else {
      part.n = size;
      cb += transpose_b ? begin * whole.ldb : begin;
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
