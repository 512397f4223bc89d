// Conv2D (and grouped, depthwise convolutions) on oneDNN: NHWC activations and HWIO (Keras)
// weights as the user sees them; weights are reordered to whatever layout the chosen
// implementation wants (cheap: weights are small).
#include "backends/cpu/batch_chunks.h"
#include "backends/cpu/conv_weights_grad.h"
#include "backends/cpu/conv_weights_grad_bf16.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/parallel.h"
#include "core/environment.h"
#include "kerosene/error.h"

namespace kerosene::backends::cpu {
namespace {

struct ConvDescs {
  memory::desc src, dst, weights_user, weights_any, bias;
  memory::dims strides, dilates, pad_l, pad_r;
};

// The weights' dims as oneDNN counts them: (out, in, kh, kw), or (groups, out/groups, in/groups,
// kh, kw) for a grouped convolution, whose Keras layout (kh, kw, in/groups, out) oneDNN calls
// hwigo (out = g * out/groups + o is the fastest-varying index).
memory::desc weights_desc(const Conv2DParams& p, bool user_layout, dt type) {
  if (p.groups == 1) {
    return {{p.out_c, p.in_c, p.kernel_h, p.kernel_w}, type, user_layout ? tag::hwio : tag::any};
  }
  return {{p.groups, p.out_c / p.groups, p.in_c / p.groups, p.kernel_h, p.kernel_w}, type,
          user_layout ? tag::hwigo : tag::any};
}

// The descriptors of one convolution; `src`, `dst` and `weights` are the types of those
// tensors (16-bit for the operands of a mixed-precision step, float32 for what it writes).
ConvDescs conv_descs(const Conv2DParams& p, dt src = dt::f32, dt dst = dt::f32, dt weights = dt::f32) {
  if (p.groups < 1 || p.in_c % p.groups != 0 || p.out_c % p.groups != 0) {
    throw ValueError("conv2d: " + std::to_string(p.groups) + " groups do not divide " + std::to_string(p.in_c) +
                     " input and " + std::to_string(p.out_c) + " output channels");
  }
  return {nhwc(p.batch, p.in_h, p.in_w, p.in_c, src),
          nhwc(p.batch, p.out_h, p.out_w, p.out_c, dst),
          weights_desc(p, true, weights),
          weights_desc(p, false, weights),
          memory::desc({p.out_c}, dt::f32, tag::x),
          {p.stride_h, p.stride_w},
          {p.dilation_h - 1, p.dilation_w - 1},  // oneDNN counts the pixels skipped: 0 is none
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
                                                     d.weights_any, d.bias, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r)
                   : dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                                     dnnl::algorithm::convolution_direct, d.src,
                                                     d.weights_any, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, attr, engine};
}

memory placeholder(const memory::desc& md, dnnl::engine& engine) { return memory(md, engine, DNNL_MEMORY_NONE); }

// When the primitive wants the weights in another layout than Keras' HWIO, the entry gets a
// reorder into a buffer of its own.
void attach_weights_reorder(CachedPrimitive& e, const memory::desc& user, const memory::desc& wanted,
                            dnnl::engine& engine) {
  if (wanted == user) return;
  e.to_internal = make_reorder(user, wanted, engine);
  e.internal = memory(wanted, engine);
}

// Weights in the layout `wanted`: the user's pointer, or the entry's reordered copy.
const void* weights_for(OneDnn& dnn, CachedPrimitive& e, const void* w) {
  if (!e.to_internal) return w;
  dnn.execute(*e.to_internal, {w, e.internal.get_data_handle()});
  return e.internal.get_data_handle();
}

}  // namespace

void OneDnn::conv2d_forward_chunk(const Conv2DParams& p, const void* x, const void* w, const float* bias,
                                  float* y, ActivationKind fused, ComputePrecision precision) {
  const int64_t variant = (bias ? 8 : 0) + static_cast<int64_t>(fused) + 16 * static_cast<int64_t>(precision);
  auto& slot = caches().primitives[conv_key(1, p, variant)];
  if (!slot) {
    const dt operand = operand_type(precision);
    ConvDescs d = conv_descs(p, operand, dt::f32, operand);
    auto pd = forward_pd(d, bias != nullptr, fused, engine_);
    auto e = std::make_unique<CachedPrimitive>();
    e->primitive = dnnl::convolution_forward(pd);
    e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    e->args = {placeholder(d.src, engine_), placeholder(pd.weights_desc(), engine_), placeholder(d.dst, engine_)};
    if (bias) {
      e->arg_ids.push_back(DNNL_ARG_BIAS);
      e->args.push_back(placeholder(d.bias, engine_));
    }
    attach_weights_reorder(*e, d.weights_user, pd.weights_desc(), engine_);
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  const void* weights = weights_for(*this, *slot, w);
  if (bias) {
    execute(*slot, {x, weights, y, bias});
  } else {
    execute(*slot, {x, weights, y});
  }
}

void OneDnn::conv2d_backward_data_chunk(const Conv2DParams& p, const void* dy, const void* w, float* dx,
                                        ComputePrecision precision) {
  auto& slot = caches().primitives[conv_key(2, p, static_cast<int64_t>(precision))];
  if (!slot) {
    const dt operand = operand_type(precision);
    ConvDescs d = conv_descs(p, dt::f32, operand, operand);  // dx (float32) from dy and w
    auto hint = forward_pd(conv_descs(p, operand, dt::f32, operand), false, ActivationKind::linear, engine_);
    dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights_any,
                                               d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad_attr(), engine_, hint);
    auto e = std::make_unique<CachedPrimitive>();
    e->primitive = dnnl::convolution_backward_data(pd);
    e->arg_ids = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    e->args = {placeholder(d.dst, engine_), placeholder(pd.weights_desc(), engine_), placeholder(d.src, engine_)};
    attach_weights_reorder(*e, d.weights_user, pd.weights_desc(), engine_);
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  const void* weights = weights_for(*this, *slot, w);
  execute(*slot, {dy, weights, dx});
}

void OneDnn::conv2d_backward_weights_chunk(const Conv2DParams& p, const void* x, const void* dy, float* dw,
                                           float* db, ComputePrecision precision) {
  auto& slot = caches().primitives[conv_key(3, p, (db ? 1 : 0) + 2 * static_cast<int64_t>(precision))];
  if (!slot) {
    const dt operand = operand_type(precision);
    ConvDescs d = conv_descs(p, operand, operand, dt::f32);  // dw (float32) from x and dy
    auto hint = forward_pd(conv_descs(p, operand, dt::f32, operand), db != nullptr, ActivationKind::linear, engine_);
    auto desc = db ? dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src,
                                                              d.weights_any, d.bias, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r)
                   : dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, d.src,
                                                              d.weights_any, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
    dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad_attr(), engine_, hint);
    auto e = std::make_unique<CachedPrimitive>();
    e->primitive = dnnl::convolution_backward_weights(pd);
    e->arg_ids = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
    e->args = {placeholder(d.src, engine_), placeholder(d.dst, engine_), placeholder(pd.diff_weights_desc(), engine_)};
    if (db) {
      e->arg_ids.push_back(DNNL_ARG_DIFF_BIAS);
      e->args.push_back(placeholder(d.bias, engine_));
    }
    if (pd.diff_weights_desc() != d.weights_user) {
      e->from_internal = make_reorder(pd.diff_weights_desc(), d.weights_user, engine_);
      e->internal = memory(pd.diff_weights_desc(), engine_);
    }
    finish_entry(*e, pd, engine_);
    slot = std::move(e);
  }
  void* target = slot->from_internal ? slot->internal.get_data_handle() : dw;
  if (db) {
    execute(*slot, {x, dy, target, db});
  } else {
    execute(*slot, {x, dy, target});
  }
  if (slot->from_internal) execute(*slot->from_internal, {target, dw});
}


// The public entries split the batch into one chunk per team member; each chunk is a
// convolution of its own (a cached primitive per chunk shape, per thread).
namespace {

double conv_flops(const Conv2DParams& p) {
  return 2.0 * p.batch * p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w * p.in_c / p.groups;
}

// KEROSENE_CPU_BF16_WEIGHTS_GRAD=0 leaves bfloat16 weight gradients to oneDNN (to compare).
bool bf16_weights_grad_enabled() {
  static const bool enabled = env_string("KEROSENE_CPU_BF16_WEIGHTS_GRAD") != "0";
  return enabled;
}

int conv_chunks(const Conv2DParams& p) { return batch_chunks(p, conv_flops(p)); }

// Operands as bytes: float32 elements, or 16-bit copies (OneDnn::rounded) of 2 bytes each.
size_t operand_size(ComputePrecision precision) { return precision == ComputePrecision::float32 ? 4 : 2; }

}  // namespace

void OneDnn::conv2d_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                            Tensor& y, ActivationKind fused, ComputePrecision precision,
                            const RoundedOperand* x16, const RoundedOperand* w16) {
  const char* px = static_cast<const char*>(rounded(x, precision, x16, 0));
  const void* pw = rounded(w, precision, w16, 1);
  float* py = static_cast<float*>(y.raw_data());
  const float* pbias = bias ? static_cast<const float*>(bias->raw_data()) : nullptr;
  const int64_t in_sample = p.in_h * p.in_w * p.in_c, out_sample = p.out_h * p.out_w * p.out_c;
  const size_t size = operand_size(precision);
  for_batch_chunks(p, conv_chunks(p), [&](int, const Conv2DParams& part, int64_t first) {
    conv2d_forward_chunk(part, px + first * in_sample * size, pw, pbias, py + first * out_sample, fused, precision);
  });
}

void OneDnn::conv2d_backward_data(const Conv2DParams& p, const Tensor& dy, const Tensor& w, Tensor& dx,
                                  ComputePrecision precision, const RoundedOperand* dy16,
                                  const RoundedOperand* w16) {
  const char* pdy = static_cast<const char*>(rounded(dy, precision, dy16, 0));
  const void* pw = rounded(w, precision, w16, 1);
  float* pdx = static_cast<float*>(dx.raw_data());
  const int64_t in_sample = p.in_h * p.in_w * p.in_c, out_sample = p.out_h * p.out_w * p.out_c;
  const size_t size = operand_size(precision);
  for_batch_chunks(p, conv_chunks(p), [&](int, const Conv2DParams& part, int64_t first) {
    conv2d_backward_data_chunk(part, pdy + first * out_sample * size, pw, pdx + first * in_sample, precision);
  });
}

void OneDnn::conv2d_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& dy, Tensor& dw,
                                     Tensor* db, ComputePrecision precision, const RoundedOperand* x16,
                                     const RoundedOperand* dy16) {
  const bool lowp = precision != ComputePrecision::float32;
  const char* px = static_cast<const char*>(rounded(x, precision, x16, 2));
  const char* pdy = static_cast<const char*>(rounded(dy, precision, dy16, 3));
  const size_t size = operand_size(precision);
  const int64_t in_sample = p.in_h * p.in_w * p.in_c, out_sample = p.out_h * p.out_w * p.out_c;
  const int chunks = conv_chunks(p);
  const ChunkedWeightGrads grads(dw, db, chunks);
  const bool bf16_direct = precision == ComputePrecision::bfloat16 && bf16_weights_grad_enabled() &&
                           conv_weights_grad_bf16_fits(p);
  for_batch_chunks(p, chunks, [&](int c, const Conv2DParams& part, int64_t first) {
    float* pw = grads.weights(c);
    float* pb = grads.bias(c);
    // The one-channel direct kernel is float32 only; bfloat16 has its own where the CPU can.
    if (!lowp && conv_weights_grad_direct_fits(part)) {
      conv_weights_grad_direct(part, reinterpret_cast<const float*>(px) + first * in_sample,
                               reinterpret_cast<const float*>(pdy) + first * out_sample, pw, pb);
    } else if (bf16_direct) {
      conv_weights_grad_bf16(part, reinterpret_cast<const uint16_t*>(px) + first * in_sample,
                             reinterpret_cast<const uint16_t*>(pdy) + first * out_sample, pw, pb);
    } else {
      conv2d_backward_weights_chunk(part, px + first * in_sample * size, pdy + first * out_sample * size, pw, pb,
                                    precision);
    }
  });
  grads.sum(p.batch);
}

}  // namespace kerosene::backends::cpu
