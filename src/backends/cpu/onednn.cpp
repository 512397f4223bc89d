#include "backends/cpu/onednn.h"
#include "backends/cpu/onednn_util.h"

#include <omp.h>

#include "backends/cpu/cpu_backend.h"
#include "kerosene/error.h"

namespace kerosene::backends::cpu {



OneDnn::OneDnn() : engine_(dnnl::engine::kind::cpu, 0), stream_(engine_) {}

void OneDnn::execute(CachedPrimitive& p, std::initializer_list<const void*> pointers) {
  dnnl_exec_arg_t args[8];
  int n = 0;
  for (const void* ptr : pointers) {
    p.args[n].set_data_handle(const_cast<void*>(ptr));
    args[n] = {p.arg_ids[n], p.args[n].get()};
    ++n;
  }
  args[n++] = {DNNL_ARG_SCRATCHPAD, p.scratchpad.get()};
  omp_set_num_threads(p.threads);
  dnnl_status_t status = dnnl_primitive_execute(p.primitive.get(), stream_.get(), n, args);
  if (status != dnnl_success) {
    throw DeviceError("oneDNN primitive failed with status " + std::to_string(status));
  }
}

void OneDnn::matmul(const Tensor& a, bool transpose_a, const Tensor& b, bool transpose_b,
                    const Tensor* bias, Tensor& c, bool accumulate, ActivationKind fused) {
  const int64_t m = c.dim(0), n = c.dim(1);
  const int64_t k = transpose_a ? a.dim(0) : a.dim(1);
  const int threads = threads_for(2.0 * m * n * k);
  Key key{0, m, n, k, transpose_a, transpose_b, bias != nullptr, accumulate,
          static_cast<int64_t>(fused), threads};
  auto& slot = caches().primitives[key];
  if (!slot) {
    omp_set_num_threads(threads);
    auto e = std::make_unique<CachedPrimitive>();
    e->threads = threads;
    memory::desc a_md({m, k}, dt::f32, transpose_a ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc b_md({k, n}, dt::f32, transpose_b ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc c_md({m, n}, dt::f32, memory::dims{n, 1});
    memory::desc bias_md({1, n}, dt::f32, memory::dims{n, 1});
    dnnl::primitive_attr attr = user_scratchpad_attr();
    dnnl::post_ops ops;
    if (accumulate) ops.append_sum(1.0f);
    if (fused == ActivationKind::relu) ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
    auto desc = bias ? dnnl::matmul::desc(a_md, b_md, bias_md, c_md) : dnnl::matmul::desc(a_md, b_md, c_md);
    dnnl::matmul::primitive_desc pd(desc, attr, engine_);
    e->primitive = dnnl::matmul(pd);
    e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    e->args = {memory(a_md, engine_, DNNL_MEMORY_NONE), memory(b_md, engine_, DNNL_MEMORY_NONE),
               memory(c_md, engine_, DNNL_MEMORY_NONE)};
    if (bias) {
      e->arg_ids.push_back(DNNL_ARG_BIAS);
      e->args.push_back(memory(bias_md, engine_, DNNL_MEMORY_NONE));
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  if (bias) {
    execute(*slot, {a.raw_data(), b.raw_data(), c.raw_data(), bias->raw_data()});
  } else {
    execute(*slot, {a.raw_data(), b.raw_data(), c.raw_data()});
  }
}

}  // namespace kerosene::backends::cpu
