// Conv2D on oneDNN: NHWC activations and HWIO (Keras) weights as the user sees them; weights
// are reordered to whatever layout the chosen implementation wants (cheap: weights are small).
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_util.h"

namespace kerosene::backends::cpu {
namespace {

struct ConvDescs {
  memory::desc src, dst, weights_user, weights_any, bias;
  memory::dims strides, pad_l, pad_r;
};

ConvDescs conv_descs(const Conv2DParams& p) {
  return {nhwc(p.batch, p.in_h, p.in_w, p.in_c),
          nhwc(p.batch, p.out_h, p.out_w, p.out_c),
          memory::desc({p.out_c, p.in_c, p.kernel_h, p.kernel_w}, dt::f32, tag::hwio),
          memory::desc({p.out_c, p.in_c, p.kernel_h, p.kernel_w}, dt::f32, tag::any),
          memory::desc({p.out_c}, dt::f32, tag::x),
          {p.stride_h, p.stride_w},
          {p.pad_top, p.pad_left},
          {p.pad_bottom, p.pad_right}};
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDescs& d, bool bias, ActivationKind fused,
                                                     dnnl::engine& engine) {
  dnnl::primitive_attr attr = user_scratchpad_attr();
  if (fused == ActivationKind::relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  auto desc = bias ? dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                     dnnl::algorithm::convolution_direct, d.src,
                                                     d.weights_any, d.bias, d.dst, d.strides, d.pad_l, d.pad_r)
                   : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                     dnnl::algorithm::convolution_direct, d.src,
                                                     d.weights_any, d.dst, d.strides, d.pad_l, d.pad_r);
  return {desc, attr, engine};
}

memory placeholder(const memory::desc& md, dnnl::engine& engine) { return memory(md, engine, DNNL_MEMORY_NONE); }

// Weights in the layout `wanted`: the user's pointer, or the entry's reordered copy.
const void* weights_for(OneDnn& dnn, CachedPrimitive& e, const Tensor& w) {
  if (!e.to_internal) return w.raw_data();
  dnn.execute(*e.to_internal, {w.raw_data(), e.internal.get_data_handle()});
  return e.internal.get_data_handle();
}

}  // namespace

void OneDnn::conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                            Tensor& y, ActivationKind fused) {
  const int threads = threads_for(2.0 * p.batch * p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w * p.in_c);
  auto& slot = caches().primitives[conv_key(1, p, (bias ? 8 : 0) + static_cast<int64_t>(fused), threads)];
  if (!slot) {
    omp_set_num_threads(threads);
    ConvDescs d = conv_descs(p);
    auto pd = forward_pd(d, bias != nullptr, fused, engine_);
    auto e = std::make_unique<CachedPrimitive>();
    e->threads = threads;
    e->primitive = dnnl::convolution_forward(pd);
    e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    e->args = {placeholder(d.src, engine_), placeholder(pd.weights_desc(), engine_), placeholder(d.dst, engine_)};
    if (bias) {
      e->arg_ids.push_back(DNNL_ARG_BIAS);
      e->args.push_back(placeholder(d.bias, engine_));
    }
    if (pd.weights_desc() != d.weights_user) {
      e->to_internal = make_reorder(d.weights_user, pd.weights_desc(), engine_);
      e->to_internal->threads = 1;
      e->internal = memory(pd.weights_desc(), engine_);
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  const void* weights = weights_for(*this, *slot, w);
  if (bias) {
    execute(*slot, {x.raw_data(), weights, y.raw_data(), bias->raw_data()});
  } else {
    execute(*slot, {x.raw_data(), weights, y.raw_data()});
  }
}

void OneDnn::conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w, Tensor& dx) {
  const int threads = threads_for(2.0 * p.batch * p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w * p.in_c);
  auto& slot = caches().primitives[conv_key(2, p, 0, threads)];
  if (!slot) {
    omp_set_num_threads(threads);
    ConvDescs d = conv_descs(p);
    auto hint = forward_pd(d, false, ActivationKind::linear, engine_);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any,
                                               d.dst, d.strides, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad_attr(), engine_, hint);
    auto e = std::make_unique<CachedPrimitive>();
    e->threads = threads;
    e->primitive = dnnl::convolution_backward_data(pd);
    e->arg_ids = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    e->args = {placeholder(d.dst, engine_), placeholder(pd.weights_desc(), engine_), placeholder(d.src, engine_)};
    if (pd.weights_desc() != d.weights_user) {
      e->to_internal = make_reorder(d.weights_user, pd.weights_desc(), engine_);
      e->to_internal->threads = 1;
      e->internal = memory(pd.weights_desc(), engine_);
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  const void* weights = weights_for(*this, *slot, w);
  execute(*slot, {dy.raw_data(), weights, dx.raw_data()});
}

void OneDnn::conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy, Tensor& dw,
                                     Tensor* db) {
  const int threads = threads_for(2.0 * p.batch * p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w * p.in_c);
  auto& slot = caches().primitives[conv_key(3, p, db ? 1 : 0, threads)];
  if (!slot) {
    omp_set_num_threads(threads);
    ConvDescs d = conv_descs(p);
    auto hint = forward_pd(d, db != nullptr, ActivationKind::linear, engine_);
    auto desc = db ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src,
                                                              d.weights_any, d.bias, d.dst, d.strides, d.pad_l, d.pad_r)
                   : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src,
                                                              d.weights_any, d.dst, d.strides, d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad_attr(), engine_, hint);
    auto e = std::make_unique<CachedPrimitive>();
    e->threads = threads;
    e->primitive = dnnl::convolution_backward_weights(pd);
    e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
    e->args = {placeholder(d.src, engine_), placeholder(d.dst, engine_), placeholder(pd.diff_weights_desc(), engine_)};
    if (db) {
      e->arg_ids.push_back(DNNL_ARG_DIFF_BIAS);
      e->args.push_back(placeholder(d.bias, engine_));
    }
    if (pd.diff_weights_desc() != d.weights_user) {
      e->from_internal = make_reorder(pd.diff_weights_desc(), d.weights_user, engine_);
      e->from_internal->threads = 1;
      e->internal = memory(pd.diff_weights_desc(), engine_);
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  void* target = slot->from_internal ? slot->internal.get_data_handle() : dw.raw_data();
  if (db) {
    execute(*slot, {x.raw_data(), dy.raw_data(), target, db->raw_data()});
  } else {
    execute(*slot, {x.raw_data(), dy.raw_data(), target});
  }
  if (slot->from_internal) execute(*slot->from_internal, {target, dw.raw_data()});
}

}  // namespace kerosene::backends::cpu
