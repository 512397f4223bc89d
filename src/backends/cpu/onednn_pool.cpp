// MaxPooling2D and AveragePooling2D on oneDNN, NHWC. Max pooling keeps oneDNN's workspace (the
// position of each maximum) between forward and backward; average pooling excludes padding,
// as TensorFlow does.
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_util.h"

namespace kerosene::backends::cpu {
namespace {

dnnl::algorithm pool_algorithm(PoolKind kind) {
  return kind == PoolKind::max ? dnnl::algorithm::pooling_max : dnnl::algorithm::pooling_avg_exclude_padding;
}

dnnl::pooling_forward::primitive_desc pool_forward_pd(const Pool2DParams& p, dnnl::engine& engine) {
  dnnl::pooling_forward::desc desc(dnnl::prop_kind::forward_training, pool_algorithm(p.kind),
                                   nhwc(p.batch, p.in_h, p.in_w, p.channels),
                                   nhwc(p.batch, p.out_h, p.out_w, p.channels), {p.stride_h, p.stride_w},
                                   {p.pool_h, p.pool_w}, {p.pad_top, p.pad_left}, {p.pad_bottom, p.pad_right});
  return {desc, user_scratchpad_attr(), engine};
}

int pool_threads(const Pool2DParams& p) {
  return threads_for(1.0 * p.batch * p.out_h * p.out_w * p.channels * p.pool_h * p.pool_w);
}

}  // namespace

size_t OneDnn::pool2d_workspace_bytes(const Pool2DParams& p) {
  if (p.kind != PoolKind::max) return 0;
  return pool_forward_pd(p, engine_).workspace_desc().get_size();
}

void OneDnn::pool2d_forward(const Pool2DParams& p, const Tensor& x, Tensor& y, Tensor* workspace) {
  const int threads = pool_threads(p);
  auto& slot = caches().primitives[pool_key(4, p, threads)];
  if (!slot) {
    omp_set_num_threads(threads);
    auto pd = pool_forward_pd(p, engine_);
    auto e = std::make_unique<CachedPrimitive>();
    e->threads = threads;
    e->primitive = dnnl::pooling_forward(pd);
    e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_DST};
    e->args = {memory(pd.src_desc(), engine_, DNNL_MEMORY_NONE), memory(pd.dst_desc(), engine_, DNNL_MEMORY_NONE)};
    if (p.kind == PoolKind::max) {
      e->arg_ids.push_back(DNNL_ARG_WORKSPACE);
      e->args.push_back(memory(pd.workspace_desc(), engine_, DNNL_MEMORY_NONE));
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  if (p.kind == PoolKind::max) {
    execute(*slot, {x.raw_data(), y.raw_data(), workspace->raw_data()});
  } else {
    execute(*slot, {x.raw_data(), y.raw_data()});
  }
}

void OneDnn::pool2d_backward(const Pool2DParams& p, const Tensor& dy, const Tensor* workspace, Tensor& dx) {
  const int threads = pool_threads(p);
  auto& slot = caches().primitives[pool_key(5, p, threads)];
  if (!slot) {
    omp_set_num_threads(threads);
    auto hint = pool_forward_pd(p, engine_);
    dnnl::pooling_backward::desc desc(pool_algorithm(p.kind), nhwc(p.batch, p.in_h, p.in_w, p.channels),
                                      nhwc(p.batch, p.out_h, p.out_w, p.channels), {p.stride_h, p.stride_w},
                                      {p.pool_h, p.pool_w}, {p.pad_top, p.pad_left}, {p.pad_bottom, p.pad_right});
    dnnl::pooling_backward::primitive_desc pd(desc, user_scratchpad_attr(), engine_, hint);
    auto e = std::make_unique<CachedPrimitive>();
    e->threads = threads;
    e->primitive = dnnl::pooling_backward(pd);
    e->arg_ids = {DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC};
    e->args = {memory(pd.diff_dst_desc(), engine_, DNNL_MEMORY_NONE),
               memory(pd.diff_src_desc(), engine_, DNNL_MEMORY_NONE)};
    if (p.kind == PoolKind::max) {
      e->arg_ids.push_back(DNNL_ARG_WORKSPACE);
      e->args.push_back(memory(hint.workspace_desc(), engine_, DNNL_MEMORY_NONE));
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  if (p.kind == PoolKind::max) {
    execute(*slot, {dy.raw_data(), dx.raw_data(), workspace->raw_data()});
  } else {
    execute(*slot, {dy.raw_data(), dx.raw_data()});
  }
}

}  // namespace kerosene::backends::cpu
