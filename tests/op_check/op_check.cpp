// kerosene_op_check: runs every backend kernel on every available device and compares each
// result with the CPU's, in two modes:
//   --mode value     forward kernels (and the element-wise, loss, metric and optimizer ones)
//   --mode gradient  backward kernels; on the CPU itself, each is also checked against central
//                    finite differences of its forward kernel, so the reference is checked too
// Devices: every logical device (GPUs included); --logical-cpus N splits the CPU first, so the
// harness also runs where there is no GPU. TF32 is off (kerosene's default is TensorFlow's, on):
// float32 results are compared at float32 tolerances; the "with TF32" cases turn it on for
// their own call. 16-bit compute (bfloat16, float16) is compared with the CPU's float32 op on
// operands rounded on the host, at tolerances the rounding justifies (see precision_tolerance). Devices that are not there are named as skipped,
// with the reason, and never counted as passed. Exit status: 0 all compared equal, 1 otherwise.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/metric_counts.h"
#include "kerosene/kerosene.h"
#include "nn/activations.h"
#include "backends/cpu/precision_support.h"
#include "nn/conv2d.h"
#include "rounding.h"
#include "runtime/device_context.h"

namespace ks = kerosene;
using ks::Device;
using ks::Shape;
using ks::Tensor;
using namespace ks::backends;

namespace {

using Outputs = std::vector<std::vector<float>>;

Backend& backend(const Device& d) { return ks::runtime::Registry::instance().context(d).backend(); }

std::vector<float> random_values(int64_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = dist(rng);
  return v;
}

Tensor random(const Device& d, const Shape& s, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  return Tensor::from_vector(random_values(s.numel(), seed, lo, hi), s, d);
}

Tensor labels(const Device& d, int64_t rows, int64_t classes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> v(static_cast<size_t>(rows));
  for (auto& x : v) x = static_cast<int32_t>(rng() % static_cast<uint64_t>(classes));
  return Tensor::from_vector(v, {rows}, d);
}

/// Row-wise probability targets (for categorical / binary losses).
Tensor targets(const Device& d, int64_t rows, int64_t cols, uint64_t seed, bool one_hot) {
  std::vector<float> v = random_values(rows * cols, seed, 0.0f, 1.0f);
  if (one_hot) {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < cols; ++c) v[r * cols + c] = (c == r % cols) ? 1.0f : 0.0f;
    }
  }
  return Tensor::from_vector(v, {rows, cols}, d);
}

std::vector<float> host(const Tensor& t) {
  if (t.dtype() == ks::DType::float32) return t.to_vector<float>();
  std::vector<float> out;
  for (int32_t v : t.astype(ks::DType::int32).to_vector<int32_t>()) out.push_back(static_cast<float>(v));
  return out;
}

Conv2DParams conv_params(int64_t n, int64_t h, int64_t w, int64_t c, int64_t k, int64_t kh, int64_t kw,
                         int64_t stride, const char* padding, int64_t dh = 1, int64_t dw = 1) {
  const auto ph = ks::nn::compute_padding(padding, h, (kh - 1) * dh + 1, stride);
  const auto pw = ks::nn::compute_padding(padding, w, (kw - 1) * dw + 1, stride);
  return {n, h, w, c, ph.out, pw.out, k, kh, kw, stride, stride, ph.before, pw.before, ph.after, pw.after, dh, dw};
}

// A grouped convolution (groups = in_c: DepthwiseConv2D, SeparableConv2D's depthwise part).
Conv2DParams grouped(Conv2DParams p, int64_t groups) {
  p.groups = groups;
  return p;
}

// The kernel in Keras' layout: (kh, kw, in_c / groups, out_c).
Shape kernel_shape(const Conv2DParams& p) { return {p.kernel_h, p.kernel_w, p.in_c / p.groups, p.out_c}; }

Pool2DParams pool_params(PoolKind kind, int64_t n, int64_t h, int64_t w, int64_t c, int64_t size, int64_t stride,
                         const char* padding) {
  const auto ph = ks::nn::compute_padding(padding, h, size, stride);
  const auto pw = ks::nn::compute_padding(padding, w, size, stride);
  return {kind, n, h, w, c, ph.out, pw.out, size, size, stride, stride, ph.before, pw.before, ph.after, pw.after};
}

const std::vector<Conv2DParams>& conv_cases() {
  static const std::vector<Conv2DParams> cases = {
      conv_params(4, 28, 28, 1, 8, 3, 3, 1, "valid"),  // the MNIST CNN's first layer
      conv_params(3, 9, 10, 3, 5, 3, 3, 2, "same"),    // strided, asymmetric padding
      conv_params(2, 8, 8, 4, 6, 5, 5, 1, "same"),
      conv_params(2, 7, 6, 2, 3, 2, 2, 1, "same"),     // even kernel: padding after only
      conv_params(2, 9, 8, 3, 4, 3, 3, 1, "same", 2, 2),   // dilated, symmetric padding
      conv_params(2, 10, 7, 2, 3, 2, 3, 1, "same", 3, 1),  // dilated, asymmetric padding (cuDNN: padded copy)
      conv_params(3, 8, 9, 1, 8, 3, 3, 1, "valid", 2, 2),  // dilated, one channel, no padding
      // #7-#10: grouped. Depthwise with depth_multiplier 2, strided, asymmetric padding;
      grouped(conv_params(3, 9, 10, 3, 6, 3, 3, 2, "same"), 3),
      // depthwise, dilated, asymmetric padding; two groups of two channels; a MobileNet block.
      grouped(conv_params(2, 10, 7, 4, 4, 3, 2, 1, "same", 2, 1), 4),
      grouped(conv_params(2, 8, 8, 4, 6, 3, 3, 1, "valid"), 2),
      grouped(conv_params(2, 14, 14, 32, 32, 3, 3, 1, "same"), 32),
  };
  return cases;
}

// ZeroPadding2D (offsets), Cropping2D (negative offsets), UpSampling2D (repeats).
const std::vector<SpatialCopy2DParams>& spatial_copy_cases() {
  static const std::vector<SpatialCopy2DParams> cases = {
      {3, 5, 6, 4, 8, 7, 1, 0, 1, 1},    // pad ((1, 2), (0, 1))
      {2, 9, 8, 3, 6, 5, -2, -1, 1, 1},  // crop ((2, 1), (1, 2))
      {2, 4, 5, 3, 8, 15, 0, 0, 2, 3},   // upsample 2x3
      {2, 4, 5, 3, 5, 6, 1, -1, 1, 1},   // pad rows, crop columns at once
  };
  return cases;
}

const std::vector<Pool2DParams>& pool_cases() {
  static const std::vector<Pool2DParams> cases = {
      pool_params(PoolKind::max, 4, 26, 26, 8, 2, 2, "valid"),
      pool_params(PoolKind::max, 2, 7, 9, 3, 3, 2, "same"),
      pool_params(PoolKind::average, 4, 26, 26, 8, 2, 2, "valid"),
      pool_params(PoolKind::average, 2, 7, 9, 3, 3, 2, "same"),
  };
  return cases;
}

struct Case {
  std::string name;
  std::function<Outputs(const Device&)> run;
  /// What every device must match; empty: run(/CPU:0).
  std::function<Outputs()> reference = {};
  double tolerance = 0;  ///< 0: --tolerance
  /// The compute type run() asks for: a CPU device without it skips the case, saying why.
  ComputePrecision precision = ComputePrecision::float32;
};

const char* precision_name(ComputePrecision p) {
  return p == ComputePrecision::bfloat16 ? "bfloat16" : p == ComputePrecision::float16 ? "float16" : "float32";
}

/// Random operands rounded on the host to `to` (float32: as drawn).
Tensor rounded(const Device& d, const Shape& s, uint64_t seed, ComputePrecision to, float lo = -1.0f, float hi = 1.0f) {
  return Tensor::from_vector(ks::op_check::round_all(random_values(s.numel(), seed, lo, hi), to), s, d);
}

/// Tolerances of 16-bit compute against the float32 op on rounded operands. A matmul's output is
/// float32, so only the order of the float32 sums differs (about 1e-6 here): 2e-4 still catches
/// operands that were not rounded (bfloat16 would differ by about 1e-2, float16 by 1e-3). cuDNN
/// writes a convolution's output in the 16-bit type: twice the half-ulp of that rounding,
/// 2^-8 (bfloat16) and 2^-11 (float16) relative.
double precision_tolerance(ComputePrecision p, bool output_rounded) {
  if (!output_rounded) return 2e-4;
  return p == ComputePrecision::bfloat16 ? 2 * 0.00390625 : 2 * 0.00048828125;
}

/// A case of `precision` compute: body(d, compute, round_operands_to) draws its operands rounded
/// on the host to round_operands_to and runs its op in `compute`. Devices run it in `precision`;
/// the reference is /CPU:0 in float32 on operands rounded to `precision`.
Case sixteen_bit_case(const std::string& name, ComputePrecision precision, bool output_rounded,
                      std::function<Outputs(const Device&, ComputePrecision, ComputePrecision)> body) {
  Case c{name + " in " + precision_name(precision),
         [=](const Device& d) { return body(d, precision, ComputePrecision::float32); }};
  c.reference = [=] { return body(Device(), ComputePrecision::float32, precision); };
  c.tolerance = precision_tolerance(precision, output_rounded);
  c.precision = precision;
  return c;
}

/// run() with TF32 on for its own calls (op_check keeps it off otherwise).
std::function<Outputs(const Device&)> with_tf32(std::function<Outputs(const Device&)> run) {
  return [run](const Device& d) {
    ks::config::experimental::enable_tensor_float_32_execution(true);
    Outputs out = run(d);
    ks::config::experimental::enable_tensor_float_32_execution(false);
    return out;
  };
}

std::string act_name(ActivationKind k) { return ks::nn::activation_name(k); }

/// Every activation by its name (Keras' defaults), then with the layers' parameters and along
/// other axes: name, parameters, shape.
struct ActivationCase {
  std::string name;
  ActivationParams params;
  Shape shape;
};

std::vector<ActivationCase> activation_cases() {
  std::vector<ActivationCase> cases;
  for (int k = 0; k <= static_cast<int>(ActivationKind::hard_sigmoid); ++k) {
    const auto kind = static_cast<ActivationKind>(k);
    cases.push_back({act_name(kind), ks::nn::activation_params(kind), {37, 10}});
  }
  ActivationParams relu{.kind = ActivationKind::relu, .negative_slope = 0.1f, .max_value = 2.5f, .threshold = 0.5f};
  cases.push_back({"relu slope 0.1 max 2.5 threshold 0.5", relu, {37, 10}});
  cases.push_back({"relu max 6", {.kind = ActivationKind::relu, .max_value = 6.0f}, {37, 10}});
  cases.push_back({"leaky_relu 0.3", {.kind = ActivationKind::leaky_relu, .negative_slope = 0.3f}, {37, 10}});
  cases.push_back({"softmax axis 1 of 3", {.kind = ActivationKind::softmax, .axis = 1}, {7, 33, 5}});
  cases.push_back({"softmax axis 0", {.kind = ActivationKind::softmax, .axis = 0}, {45, 9}});
  return cases;
}
/// Every loss kind; the cross-entropies also from logits and with label smoothing, Huber also
/// with another delta.
struct LossCase {
  LossKind kind;
  bool logits = false;
  float label_smoothing = 0.0f;
  float delta = 1.0f;
};
std::vector<LossCase> loss_cases() {
  std::vector<LossCase> out;
  for (int k = 0; k <= static_cast<int>(kLastLossKind); ++k) out.push_back({static_cast<LossKind>(k)});
  for (LossKind k : {LossKind::sparse_categorical_crossentropy, LossKind::categorical_crossentropy,
                     LossKind::binary_crossentropy}) {
    out.push_back({k, true});
  }
  for (LossKind k : {LossKind::categorical_crossentropy, LossKind::binary_crossentropy}) {
    out.push_back({k, false, 0.1f});
    out.push_back({k, true, 0.2f});
  }
  out.push_back({LossKind::huber, false, 0.0f, 0.3f});
  return out;
}
const char* loss_name(LossKind k) {
  static const char* names[] = {"sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
                                "mean_squared_error", "mean_absolute_error", "huber", "log_cosh",
                                "mean_squared_logarithmic_error", "kl_divergence", "poisson", "hinge",
                                "squared_hinge", "cosine_similarity"};
  return names[static_cast<int>(k)];
}
std::string loss_case_name(const LossCase& c) {
  std::string name = loss_name(c.kind);
  if (c.logits) name += " from_logits";
  if (c.label_smoothing != 0.0f) name += " label_smoothing=" + std::to_string(c.label_smoothing);
  if (c.delta != 1.0f) name += " delta=" + std::to_string(c.delta);
  return name;
}

Tensor loss_target(const Device& d, LossKind kind, int64_t rows, int64_t cols) {
  if (kind == LossKind::sparse_categorical_crossentropy) return labels(d, rows, cols, 77);
  return targets(d, rows, cols, 78, kind == LossKind::categorical_crossentropy);
}

/// Predictions a loss accepts: logits anywhere, probabilities strictly inside (0, 1).
Tensor loss_input(const Device& d, LossKind kind, bool from_logits, int64_t rows, int64_t cols) {
  const bool probabilities = kind == LossKind::sparse_categorical_crossentropy ||
                             kind == LossKind::categorical_crossentropy || kind == LossKind::binary_crossentropy ||
                             kind == LossKind::kl_divergence;
  if (kind == LossKind::mean_squared_logarithmic_error || kind == LossKind::poisson) {
    return random(d, {rows, cols}, 76, 0.01f, 3.0f);
  }
  if (from_logits || !probabilities) return random(d, {rows, cols}, 76, -2.0f, 2.0f);
  Tensor logits = random(d, {rows, cols}, 76, -2.0f, 2.0f);
  Tensor p = Tensor::empty({rows, cols}, ks::DType::float32, d);
  backend(d).activation_forward(
      {kind == LossKind::binary_crossentropy ? ActivationKind::sigmoid : ActivationKind::softmax}, logits, p);
  return p;
}

// Normalization inputs: a batch-norm case is rows x channels (any leading shape); offset moves
// the mean far from 0 (the statistics must not cancel).
struct NormShape {
  Shape shape;
  float offset;
};
const std::vector<NormShape>& batch_norm_cases() {
  static const std::vector<NormShape> cases = {{{6, 5, 5, 7}, 0.0f}, {{700, 33}, 0.0f}, {{40, 3}, 100.0f}};
  return cases;
}
const std::vector<Shape>& layer_norm_cases() {
  static const std::vector<Shape> cases = {{37, 50}, {5, 3, 129}, {300, 4}};
  return cases;
}

BatchNormParams bn_params(const Shape& s, bool training) {
  const int64_t c = s[-1];
  return {s.numel() / c, c, 1e-3f, 0.9f, training};
}

/// BatchNorm forward on device d: y, mean, inv_std and the moving statistics after the call.
Outputs batch_norm_forward_outputs(const Device& d, const NormShape& n, bool training) {
  const int64_t c = n.shape[-1];
  Tensor x = random(d, n.shape, 60, n.offset - 1.0f, n.offset + 1.0f);
  Tensor gamma = random(d, {c}, 61, 0.5f, 1.5f), beta = random(d, {c}, 62);
  Tensor mm = random(d, {c}, 63), mv = random(d, {c}, 64, 0.5f, 2.0f);
  Tensor mean = Tensor::empty({c}, ks::DType::float32, d), inv_std = mean.clone();
  Tensor y = Tensor::empty(n.shape, ks::DType::float32, d);
  backend(d).batch_norm_forward(bn_params(n.shape, training), x, &gamma, &beta, mm, mv, mean, inv_std, y);
  return Outputs{host(y), host(mean), host(inv_std), host(mm), host(mv)};
}

// --- value mode -----------------------------------------------------------------------------------

std::vector<Case> value_cases() {
  std::vector<Case> cases;
  cases.push_back({"fill", [](const Device& d) {
                     Tensor t = Tensor::empty({1000}, ks::DType::float32, d);
                     backend(d).fill(t, 0.25f);
                     return Outputs{host(t)};
                   }});
  cases.push_back({"cast uint8->float32 /255, float32->int32", [](const Device& d) {
                     std::vector<uint8_t> bytes(777);
                     for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7);
                     Tensor u = Tensor::from_vector(bytes, {777}, d);
                     Tensor f = Tensor::empty({777}, ks::DType::float32, d);
                     backend(d).cast(u, f, 1.0f / 255.0f);
                     Tensor x = random(d, {300}, 1, -100.0f, 100.0f);
                     Tensor i = Tensor::empty({300}, ks::DType::int32, d);
                     backend(d).cast(x, i, 1.0f);
                     return Outputs{host(f), host(i)};
                   }});
  for (const ActivationCase& a : activation_cases()) {
    cases.push_back({"activation " + a.name, [a](const Device& d) {
                       Tensor x = random(d, a.shape, 2, -4.0f, 4.0f);
                       Tensor y = Tensor::empty(x.shape(), ks::DType::float32, d);
                       backend(d).activation_forward(a.params, x, y);
                       return Outputs{host(y)};
                     }});
  }
  cases.push_back({"dropout rate 0.3", [](const Device& d) {
                     Tensor x = random(d, {1001}, 3);
                     Tensor mask = Tensor::empty(x.shape(), ks::DType::float32, d), y = mask.clone();
                     backend(d).dropout_forward(x, mask, y, 0.3f, 1234, 40);
                     return Outputs{host(mask), host(y)};
                   }});
  cases.push_back({"multiply", [](const Device& d) {
                     Tensor a = random(d, {513}, 4), b = random(d, {513}, 5), c = a.clone();
                     backend(d).multiply(a, b, c);
                     return Outputs{host(c)};
                   }});
  cases.push_back({"scale_rows", [](const Device& d) {
                     Tensor x = random(d, {37, 11}, 4), w = random(d, {37}, 5), y = x.clone();
                     backend(d).scale_rows(x, w, y);
                     backend(d).scale_rows(x, w, x);  // in place, as the loss's gradient is scaled
                     return Outputs{host(y), host(x)};
                   }});
  for (int ta = 0; ta < 2; ++ta) {
    for (int tb = 0; tb < 2; ++tb) {
      for (int variant = 0; variant < 3; ++variant) {  // plain, bias+relu, accumulate
        const std::string name = std::string("matmul ") + (ta ? "A^T" : "A") + (tb ? " B^T" : " B") +
                                 (variant == 1 ? " +bias relu" : variant == 2 ? " accumulate" : "");
        cases.push_back({name, [=](const Device& d) {
                           const int64_t m = 33, k = 70, n = 17;
                           Tensor a = random(d, ta ? Shape{k, m} : Shape{m, k}, 6);
                           Tensor b = random(d, tb ? Shape{n, k} : Shape{k, n}, 7);
                           Tensor bias = random(d, {n}, 8);
                           Tensor c = random(d, {m, n}, 9);
                           backend(d).matmul(a, ta, b, tb, variant == 1 ? &bias : nullptr, c, variant == 2,
                                             variant == 1 ? ActivationKind::relu : ActivationKind::linear,
                                             ks::backends::ComputePrecision::float32);
                           return Outputs{host(c)};
                         }});
      }
    }
  }
  for (size_t i = 0; i < conv_cases().size(); ++i) {
    cases.push_back({"conv2d forward #" + std::to_string(i) + " (+bias relu)", [i](const Device& d) {
                       const auto& p = conv_cases()[i];
                       Tensor x = random(d, {p.batch, p.in_h, p.in_w, p.in_c}, 10);
                       Tensor w = random(d, kernel_shape(p), 11, -0.5f, 0.5f);
                       Tensor b = random(d, {p.out_c}, 12);
                       Tensor y = Tensor::empty({p.batch, p.out_h, p.out_w, p.out_c}, ks::DType::float32, d);
                       Tensor y2 = y.clone();
                       backend(d).conv2d_forward(p, x, w, nullptr, y, ActivationKind::linear);
                       backend(d).conv2d_forward(p, x, w, &b, y2, ActivationKind::relu);
                       return Outputs{host(y), host(y2)};
                     }});
  }
  for (ComputePrecision precision : {ComputePrecision::bfloat16, ComputePrecision::float16}) {
    for (int ta = 0; ta < 2; ++ta) {
      for (int tb = 0; tb < 2; ++tb) {
        for (int variant = 0; variant < 3; ++variant) {  // plain, bias+relu, accumulate
          const std::string name = std::string("matmul ") + (ta ? "A^T" : "A") + (tb ? " B^T" : " B") +
                                   (variant == 1 ? " +bias relu" : variant == 2 ? " accumulate" : "");
          cases.push_back(sixteen_bit_case(name, precision, false, [=](const Device& d, ComputePrecision compute,
                                                                       ComputePrecision round) {
            const int64_t m = 33, k = 70, n = 17;
            Tensor a = rounded(d, ta ? Shape{k, m} : Shape{m, k}, 6, round);
            Tensor b = rounded(d, tb ? Shape{n, k} : Shape{k, n}, 7, round);
            Tensor bias = random(d, {n}, 8), c = random(d, {m, n}, 9);  // float32 under any policy
            backend(d).matmul(a, ta, b, tb, variant == 1 ? &bias : nullptr, c, variant == 2,
                              variant == 1 ? ActivationKind::relu : ActivationKind::linear, compute);
            return Outputs{host(c)};
          }));
        }
      }
    }
    for (size_t i = 0; i < conv_cases().size(); ++i) {
      // No bias: it is added in float32 after cuDNN's 16-bit output, so it could cancel most of
      // a value whose rounding error the tolerance measures against the value itself. (The
      // bias kernel is the float32 cases'.)
      cases.push_back(sixteen_bit_case("conv2d forward #" + std::to_string(i) + " (+relu)", precision, true,
                                       [i](const Device& d, ComputePrecision compute, ComputePrecision round) {
        const auto& p = conv_cases()[i];
        Tensor x = rounded(d, {p.batch, p.in_h, p.in_w, p.in_c}, 10, round);
        Tensor w = rounded(d, kernel_shape(p), 11, round, -0.5f, 0.5f);
        Tensor y = Tensor::empty({p.batch, p.out_h, p.out_w, p.out_c}, ks::DType::float32, d), y2 = y.clone();
        backend(d).conv2d_forward(p, x, w, nullptr, y, ActivationKind::linear, compute);
        backend(d).conv2d_forward(p, x, w, nullptr, y2, ActivationKind::relu, compute);
        return Outputs{host(y), host(y2)};
      }));
    }
  }
  // TF32 rounds the operands to 10 bits of mantissa (2^-11 relative; 2^-10 where hardware
  // truncates): a few 1e-3 here against full float32. Not a check that TF32 ran (a CPU passes
  // too) but that the TF32 plans compute the right product.
  cases.push_back({"matmul A B with TF32", with_tf32([](const Device& d) {
                     Tensor a = random(d, {33, 70}, 6), b = random(d, {70, 17}, 7), c = random(d, {33, 17}, 9);
                     backend(d).matmul(a, false, b, false, nullptr, c, false, ActivationKind::linear,
                                       ComputePrecision::float32);
                     return Outputs{host(c)};
                   }), {}, 2e-2});
  cases.push_back({"conv2d forward #2 with TF32", with_tf32([](const Device& d) {
                     const auto& p = conv_cases()[2];
                     Tensor x = random(d, {p.batch, p.in_h, p.in_w, p.in_c}, 10);
                     Tensor w = random(d, kernel_shape(p), 11, -0.5f, 0.5f);
                     Tensor y = Tensor::empty({p.batch, p.out_h, p.out_w, p.out_c}, ks::DType::float32, d);
                     backend(d).conv2d_forward(p, x, w, nullptr, y, ActivationKind::linear);
                     return Outputs{host(y)};
                   }), {}, 2e-2});
  // relu of NaN must be what the CPU gives (0: tests/backends/cpu_kernels_test.cpp), alone and
  // fused (cuBLASLt's RELU epilogue, whose NaN behaviour NVIDIA does not document), or a
  // divergence would show on one device and not on another. NaN where the CPU has a number, or
  // a number where it has NaN, fails; the NaN row of the product itself must stay NaN.
  // (Not conv: FFT and Winograd algorithms spread one NaN over a tile, a difference of
  // algorithm, not of relu; conv's relu runs in the same kernel as the one checked here.)
  cases.push_back({"NaN through relu: alone and matmul +bias relu", [](const Device& d) {
                     std::vector<float> xv = random_values(37 * 10, 2, -4.0f, 4.0f);
                     xv[3] = std::nanf("");
                     Tensor x = Tensor::from_vector(xv, {37, 10}, d);
                     Tensor y = Tensor::empty(x.shape(), ks::DType::float32, d);
                     backend(d).activation_forward({ActivationKind::relu}, x, y);
                     Tensor w = random(d, {10, 17}, 7), bias = random(d, {17}, 8);
                     Tensor c = Tensor::empty({37, 17}, ks::DType::float32, d);
                     backend(d).matmul(x, false, w, false, &bias, c, false, ActivationKind::relu, ks::backends::ComputePrecision::float32);
                     Tensor linear = Tensor::empty({37, 17}, ks::DType::float32, d);
                     backend(d).matmul(x, false, w, false, &bias, linear, false, ActivationKind::linear,
                                       ks::backends::ComputePrecision::float32);
                     return Outputs{host(y), host(c), host(linear)};
                   }});
  for (size_t i = 0; i < pool_cases().size(); ++i) {
    cases.push_back({"pool2d forward #" + std::to_string(i), [i](const Device& d) {
                       const auto& p = pool_cases()[i];
                       Tensor x = random(d, {p.batch, p.in_h, p.in_w, p.channels}, 13);
                       Tensor y = Tensor::empty({p.batch, p.out_h, p.out_w, p.channels}, ks::DType::float32, d);
                       backend(d).pool2d_forward(p, x, y);
                       return Outputs{host(y)};
                     }});
  }
  for (size_t i = 0; i < spatial_copy_cases().size(); ++i) {
    cases.push_back({"spatial_copy2d #" + std::to_string(i), [i](const Device& d) {
                       const auto& p = spatial_copy_cases()[i];
                       Tensor x = random(d, {p.batch, p.in_h, p.in_w, p.channels}, 60);
                       Tensor y = random(d, {p.batch, p.out_h, p.out_w, p.channels}, 61);  // every element overwritten
                       backend(d).spatial_copy2d(p, x, y);
                       return Outputs{host(y)};
                     }});
  }
  cases.push_back({"axpby (Rescaling: fill then scale * x + out)", [](const Device& d) {
                     Tensor x = random(d, {1003}, 62), y = random(d, {1003}, 63), out = x.clone();
                     backend(d).axpby(0.5f, x, -2.0f, y, out);
                     Tensor r = Tensor::empty({1003}, ks::DType::float32, d);
                     backend(d).fill(r, 0.25f);
                     backend(d).axpby(1.0f / 255.0f, x, 1.0f, r, r);
                     return Outputs{host(out), host(r)};
                   }});
  for (const LossCase& c : loss_cases()) {
    cases.push_back({"loss " + loss_case_name(c), [=](const Device& d) {
                       const int64_t rows = 29, cols = 10;
                       Tensor pred = loss_input(d, c.kind, c.logits, rows, cols);
                       Tensor truth = loss_target(d, c.kind, rows, cols);
                       Tensor sample = Tensor::empty({rows}, ks::DType::float32, d);
                       backend(d).loss({c.kind, c.logits, 1.0f / rows, c.label_smoothing, c.delta}, pred, truth, sample,
                                       nullptr);
                       return Outputs{host(sample)};
                     }});
  }
  for (size_t i = 0; i < batch_norm_cases().size(); ++i) {
    for (int training = 0; training < 2; ++training) {
      cases.push_back({"batch_norm forward #" + std::to_string(i) + (training ? " training" : " inference"),
                       [=](const Device& d) { return batch_norm_forward_outputs(d, batch_norm_cases()[i], training); }});
    }
  }
  cases.push_back({"batch_norm forward without gamma, beta", [](const Device& d) {
                     const Shape s{50, 6};
                     Tensor x = random(d, s, 65), mm = random(d, {6}, 66), mv = random(d, {6}, 67, 0.5f, 2.0f);
                     Tensor mean = Tensor::empty({6}, ks::DType::float32, d), inv_std = mean.clone();
                     Tensor y = Tensor::empty(s, ks::DType::float32, d);
                     backend(d).batch_norm_forward(bn_params(s, true), x, nullptr, nullptr, mm, mv, mean, inv_std, y);
                     return Outputs{host(y), host(mm), host(mv)};
                   }});
  for (size_t i = 0; i < layer_norm_cases().size(); ++i) {
    cases.push_back({"layer_norm forward #" + std::to_string(i), [i](const Device& d) {
                       const Shape& s = layer_norm_cases()[i];
                       const int64_t c = s[-1], rows = s.numel() / c;
                       Tensor x = random(d, s, 68, -2.0f, 3.0f), gamma = random(d, {c}, 69), beta = random(d, {c}, 70);
                       Tensor mean = Tensor::empty({rows}, ks::DType::float32, d), inv_std = mean.clone();
                       Tensor y = Tensor::empty(s, ks::DType::float32, d), y2 = y.clone();
                       backend(d).layer_norm_forward({rows, c, 1e-3f}, x, &gamma, &beta, mean, inv_std, y);
                       backend(d).layer_norm_forward({rows, c, 1e-5f}, x, nullptr, nullptr, mean, inv_std, y2);
                       return Outputs{host(y), host(y2), host(mean), host(inv_std)};
                     }});
  }
  cases.push_back({"metrics (accuracies, mae, mse, confusion counts)", [](const Device& d) {
                     const int64_t rows = 50, cols = 10;
                     Tensor pred = random(d, {rows, cols}, 14, 0.0f, 1.0f);
                     Tensor correct = Tensor::empty({rows}, ks::DType::float32, d);
                     Outputs out;
                     backend(d).metric(MetricKind::sparse_categorical_accuracy, pred, labels(d, rows, cols, 15), correct);
                     out.push_back(host(correct));
                     backend(d).metric(MetricKind::categorical_accuracy, pred, targets(d, rows, cols, 16, true), correct);
                     out.push_back(host(correct));
                     backend(d).metric(MetricKind::binary_accuracy, pred, targets(d, rows, cols, 17, false), correct);
                     out.push_back(host(correct));
                     backend(d).metric(MetricKind::mean_absolute_error, pred, targets(d, rows, cols, 18, false), correct);
                     out.push_back(host(correct));
                     backend(d).metric(MetricKind::mean_squared_error, pred, targets(d, rows, cols, 18, false), correct);
                     out.push_back(host(correct));
                     for (MetricKind k : {MetricKind::true_positives, MetricKind::predicted_positives,
                                          MetricKind::actual_positives}) {
                       backend(d).metric(k, pred, targets(d, rows, cols, 16, true), correct);
                       out.push_back(host(correct));
                     }
                     return out;
                   }});
  cases.push_back({"metric_counts (top-k, AUC buckets, F-beta, confusion matrix)", [](const Device& d) {
                     const int64_t rows = 300, cols = 7;
                     Tensor pred = random(d, {rows, cols}, 71, 0.0f, 1.0f);
                     Tensor ids = labels(d, rows, cols, 72), one_hot = targets(d, rows, cols, 73, true);
                     Tensor binary = targets(d, rows, cols, 74, false);
                     Outputs out;
                     auto counts = [&](const MetricCountArgs& a, const Tensor& truth) {
                       Tensor c = Tensor::empty({metric_count_size(a, cols)}, ks::DType::float32, d);
                       backend(d).metric_counts(a, pred, truth, c);
                       out.push_back(host(c));
                     };
                     MetricCountArgs a{MetricCountKind::top_k_hits, 3};
                     a.y_true_int32 = true;
                     counts(a, ids);
                     a.sparse_y_true = false, a.y_true_int32 = false, a.true_cols = cols;
                     counts(a, one_hot);
                     MetricCountArgs auc{MetricCountKind::auc_buckets, 50};
                     auc.true_cols = cols;
                     counts(auc, binary);
                     auc.from_logits = true;
                     counts(auc, binary);
                     MetricCountArgs f{MetricCountKind::f_beta_counts};
                     f.threshold = std::numeric_limits<float>::quiet_NaN(), f.true_cols = cols;
                     counts(f, one_hot);
                     f.threshold = 0.5f;
                     counts(f, binary);
                     MetricCountArgs cm{MetricCountKind::confusion_matrix, cols};
                     cm.sparse_y_pred = false, cm.y_true_int32 = true, cm.ignore_class = 2;
                     counts(cm, ids);
                     return out;
                   }});
  cases.push_back({"sum, all_finite", [](const Device& d) {
                     Tensor x = random(d, {100003}, 18);
                     Tensor s = Tensor::empty({1}, ks::DType::float32, d);
                     backend(d).sum(x, s);
                     std::vector<float> bad = random_values(1000, 19);
                     bad[777] = std::nanf("");
                     const float finite = backend(d).all_finite(x) ? 1.0f : 0.0f;
                     const float with_nan = backend(d).all_finite(Tensor::from_vector(bad, {1000}, d)) ? 1.0f : 0.0f;
                     return Outputs{host(s), {finite, with_nan}};
                   }});
  cases.push_back({"optimizer updates (SGD nesterov, Adam, AdamW, RMSprop centered)", [](const Device& d) {
                     const int64_t n = 1000;
                     Outputs out;
                     Tensor p = random(d, {n}, 20), g = random(d, {n}, 21), v = random(d, {n}, 22, 0.0f, 0.1f);
                     backend(d).sgd_update({0.01f, 0.9f, true}, p, g, &v);
                     out.push_back(host(p));
                     out.push_back(host(v));
                     for (float decay : {0.0f, 0.004f}) {
                       Tensor q = random(d, {n}, 23), m = random(d, {n}, 24, -0.1f, 0.1f), s = random(d, {n}, 25, 0.0f, 0.1f);
                       backend(d).adam_update({0.001f, 0.9f, 0.999f, 1e-7f, decay, 0.729f, 0.997003f}, q, g, m, s);
                       out.push_back(host(q));
                       out.push_back(host(m));
                       out.push_back(host(s));
                     }
                     Tensor r = random(d, {n}, 26), ms = random(d, {n}, 27, 0.0f, 0.1f), mom = random(d, {n}, 28, -0.1f, 0.1f);
                     Tensor mg = random(d, {n}, 29, -0.01f, 0.01f);
                     backend(d).rmsprop_update({0.001f, 0.9f, 0.5f, 1e-7f, true}, r, g, ms, &mom, &mg);
                     out.push_back(host(r));
                     return out;
                   }});
  cases.push_back({"optimizer_update (Adam amsgrad, Nadam, Adamax, Adagrad, Lion)", [](const Device& d) {
                     const int64_t n = 1000;
                     Outputs out;
                     Tensor g = random(d, {n}, 30);
                     // Constants as nn::Optimizer computes them at step 3 with Keras' defaults.
                     const std::vector<OptimizerStep> steps{
                         {OptimizerRule::adam_amsgrad, 0.001f, 0.9f, 0.999f, 1e-7f, 0.0011f, 0, 0, 0, 0},
                         {OptimizerRule::nadam, 0.001f, 0.9f, 0.999f, 1e-7f, 0.4662f, 0.8756f, 0.5576f, 0.7681f, 0.003f},
                         {OptimizerRule::adamax, 0.001f, 0.9f, 0.999f, 1e-7f, 0.271f, 0, 0, 0, 0},
                         {OptimizerRule::adagrad, 0.001f, 0, 0, 1e-7f, 0, 0, 0, 0, 0},
                         {OptimizerRule::lion, 0.001f, 0.9f, 0.99f, 0, 0, 0, 0, 0, 0}};
                     uint64_t seed = 31;
                     for (const OptimizerStep& step : steps) {
                       Tensor p = random(d, {n}, seed++);
                       Tensor slots[3] = {random(d, {n}, seed++, -0.1f, 0.1f), random(d, {n}, seed++, 0.0f, 0.1f),
                                          random(d, {n}, seed++, 0.0f, 0.1f)};
                       backend(d).optimizer_update(step, p, g, slots);
                       out.push_back(host(p));
                       for (int k = 0; k < optimizer_rule_slots(step.rule); ++k) out.push_back(host(slots[k]));
                     }
                     return out;
                   }});
  return cases;
}

// --- gradient mode --------------------------------------------------------------------------------

std::vector<Case> gradient_cases() {
  std::vector<Case> cases;
  for (const ActivationCase& a : activation_cases()) {
    cases.push_back({"activation backward " + a.name, [a](const Device& d) {
                       Tensor x = random(d, a.shape, 30, -4.0f, 4.0f), y = x.clone(), dy = random(d, a.shape, 31);
                       Tensor dx = y.clone();
                       backend(d).activation_forward(a.params, x, y);
                       backend(d).activation_backward(a.params, x, y, dy, dx);
                       return Outputs{host(dx)};
                     }});
  }
  cases.push_back({"bias_grad", [](const Device& d) {
                     Tensor dy = random(d, {67, 33}, 32), db = Tensor::empty({33}, ks::DType::float32, d);
                     backend(d).bias_grad(dy, db);
                     return Outputs{host(db)};
                   }});
  for (size_t i = 0; i < conv_cases().size(); ++i) {
    cases.push_back({"conv2d backward data+weights+bias #" + std::to_string(i), [i](const Device& d) {
                       const auto& p = conv_cases()[i];
                       Tensor x = random(d, {p.batch, p.in_h, p.in_w, p.in_c}, 33);
                       Tensor w = random(d, kernel_shape(p), 34, -0.5f, 0.5f);
                       Tensor dy = random(d, {p.batch, p.out_h, p.out_w, p.out_c}, 35);
                       Tensor dx = x.clone(), dw = w.clone(), db = Tensor::empty({p.out_c}, ks::DType::float32, d);
                       backend(d).conv2d_backward_data(p, dy, w, dx);
                       backend(d).conv2d_backward_weights(p, x, dy, dw, &db);
                       return Outputs{host(dx), host(dw), host(db)};
                     }});
  }
  // 16-bit: dx and dw (no db: the bias gradient sums float32 dy under any policy).
  for (ComputePrecision precision : {ComputePrecision::bfloat16, ComputePrecision::float16}) {
    for (size_t i = 0; i < conv_cases().size(); ++i) {
      cases.push_back(sixteen_bit_case("conv2d backward data+weights #" + std::to_string(i), precision, true,
                                       [i](const Device& d, ComputePrecision compute, ComputePrecision round) {
        const auto& p = conv_cases()[i];
        Tensor x = rounded(d, {p.batch, p.in_h, p.in_w, p.in_c}, 33, round);
        Tensor w = rounded(d, kernel_shape(p), 34, round, -0.5f, 0.5f);
        Tensor dy = rounded(d, {p.batch, p.out_h, p.out_w, p.out_c}, 35, round);
        Tensor dx = x.clone(), dw = w.clone();
        backend(d).conv2d_backward_data(p, dy, w, dx, compute);
        backend(d).conv2d_backward_weights(p, x, dy, dw, nullptr, compute);
        return Outputs{host(dx), host(dw)};
      }));
    }
  }
  for (size_t i = 0; i < pool_cases().size(); ++i) {
    cases.push_back({"pool2d backward #" + std::to_string(i), [i](const Device& d) {
                       const auto& p = pool_cases()[i];
                       Tensor x = random(d, {p.batch, p.in_h, p.in_w, p.channels}, 36);
                       Tensor y = Tensor::empty({p.batch, p.out_h, p.out_w, p.channels}, ks::DType::float32, d);
                       Tensor dy = random(d, y.shape(), 37), dx = x.clone();
                       backend(d).pool2d_forward(p, x, y);
                       backend(d).pool2d_backward(p, x, y, dy, dx);
                       return Outputs{host(dx)};
                     }});
  }
  for (size_t i = 0; i < batch_norm_cases().size(); ++i) {
    for (int training = 0; training < 2; ++training) {
      cases.push_back({"batch_norm backward #" + std::to_string(i) + (training ? " training" : " inference"),
                       [=](const Device& d) {
                         const NormShape& n = batch_norm_cases()[i];
                         const int64_t c = n.shape[-1];
                         const auto p = bn_params(n.shape, training);
                         Tensor x = random(d, n.shape, 71, n.offset - 1.0f, n.offset + 1.0f);
                         Tensor gamma = random(d, {c}, 72, 0.5f, 1.5f), beta = random(d, {c}, 73);
                         Tensor mm = random(d, {c}, 74), mv = random(d, {c}, 75, 0.5f, 2.0f);
                         Tensor mean = Tensor::empty({c}, ks::DType::float32, d), inv_std = mean.clone();
                         Tensor y = x.clone(), dy = random(d, n.shape, 76), dx = x.clone();
                         Tensor dgamma = mean.clone(), dbeta = mean.clone();
                         backend(d).batch_norm_forward(p, x, &gamma, &beta, mm, mv, mean, inv_std, y);
                         backend(d).batch_norm_backward(p, x, dy, &gamma, mean, inv_std, &dx, dgamma, dbeta);
                         Tensor dx2 = x.clone();  // without gamma
                         backend(d).batch_norm_backward(p, x, dy, nullptr, mean, inv_std, &dx2, dgamma, dbeta);
                         return Outputs{host(dx), host(dx2), host(dgamma), host(dbeta)};
                       }});
    }
  }
  // Synchronized batch norm on one replica: the sums are then the whole batch's.
  for (size_t i = 0; i < batch_norm_cases().size(); ++i) {
    cases.push_back({"batch_norm from sums #" + std::to_string(i), [=](const Device& d) {
                       const NormShape& n = batch_norm_cases()[i];
                       const int64_t c = n.shape[-1];
                       const auto p = bn_params(n.shape, true);
                       Tensor x = random(d, n.shape, 80, n.offset - 1.0f, n.offset + 1.0f);
                       Tensor gamma = random(d, {c}, 81, 0.5f, 1.5f), beta = random(d, {c}, 82);
                       Tensor mm = random(d, {c}, 83), mv = random(d, {c}, 84, 0.5f, 2.0f);
                       Tensor mean = Tensor::empty({c}, ks::DType::float32, d), inv_std = mean.clone();
                       Tensor sums = Tensor::empty({2 * c + 1}, ks::DType::float32, d);
                       Tensor y = x.clone(), dy = random(d, n.shape, 85), dx = x.clone();
                       Tensor grad_sums = Tensor::empty({2 * c}, ks::DType::float32, d);
                       Tensor dbeta = grad_sums.slice(0, c), dgamma = grad_sums.slice(c, 2 * c);
                       Tensor shift = mm.clone();
                       backend(d).batch_norm_sums(p, x, shift, sums);
                       backend(d).batch_norm_forward_from_sums(p, sums, shift, &x, &gamma, &beta, mm, mv, mean, inv_std, &y);
                       backend(d).batch_norm_backward(p, x, dy, &gamma, mean, inv_std, nullptr, dgamma, dbeta);
                       backend(d).batch_norm_backward_from_sums(p, x, dy, &gamma, mean, inv_std, sums, grad_sums, dx);
                       // A replica with no rows: the statistics and moving statistics only.
                       BatchNormParams none = p;
                       none.rows = 0;
                       backend(d).batch_norm_forward_from_sums(none, sums, mm, nullptr, &gamma, &beta, mm, mv, mean,
                                                               inv_std, nullptr);
                       return Outputs{host(sums), host(y), host(dx), host(grad_sums), host(mean), host(inv_std),
                                      host(mm), host(mv)};
                     }});
  }
  for (size_t i = 0; i < layer_norm_cases().size(); ++i) {
    cases.push_back({"layer_norm backward #" + std::to_string(i), [i](const Device& d) {
                       const Shape& s = layer_norm_cases()[i];
                       const int64_t c = s[-1], rows = s.numel() / c;
                       Tensor x = random(d, s, 77, -2.0f, 3.0f), gamma = random(d, {c}, 78), beta = random(d, {c}, 79);
                       Tensor mean = Tensor::empty({rows}, ks::DType::float32, d), inv_std = mean.clone();
                       Tensor y = x.clone(), dy = random(d, s, 80), dx = x.clone(), dx2 = x.clone();
                       Tensor dgamma = Tensor::empty({c}, ks::DType::float32, d), dbeta = dgamma.clone();
                       backend(d).layer_norm_forward({rows, c, 1e-3f}, x, &gamma, &beta, mean, inv_std, y);
                       backend(d).layer_norm_backward({rows, c, 1e-3f}, x, dy, &gamma, mean, inv_std, &dx, &dgamma, &dbeta);
                       backend(d).layer_norm_backward({rows, c, 1e-3f}, x, dy, nullptr, mean, inv_std, &dx2, nullptr, nullptr);
                       return Outputs{host(dx), host(dx2), host(dgamma), host(dbeta)};
                     }});
  }
  for (size_t i = 0; i < spatial_copy_cases().size(); ++i) {
    cases.push_back({"spatial_copy2d backward #" + std::to_string(i), [i](const Device& d) {
                       const auto& p = spatial_copy_cases()[i];
                       Tensor dy = random(d, {p.batch, p.out_h, p.out_w, p.channels}, 64);
                       Tensor dx = random(d, {p.batch, p.in_h, p.in_w, p.channels}, 65);  // every element overwritten
                       backend(d).spatial_copy2d_backward(p, dy, dx);
                       return Outputs{host(dx)};
                     }});
  }
  for (const LossCase& c : loss_cases()) {
    cases.push_back({"loss gradient " + loss_case_name(c), [=](const Device& d) {
                       const int64_t rows = 29, cols = 10;
                       Tensor pred = loss_input(d, c.kind, c.logits, rows, cols), truth = loss_target(d, c.kind, rows, cols);
                       Tensor sample = Tensor::empty({rows}, ks::DType::float32, d), grad = pred.clone();
                       backend(d).loss({c.kind, c.logits, 1.0f / rows, c.label_smoothing, c.delta}, pred, truth, sample,
                                       &grad);
                       return Outputs{host(sample), host(grad)};
                     }});
  }
  return cases;
}

// --- finite differences of the CPU's own kernels (gradient mode) ------------------------------------

/// d/dx of L(x) = sum(dy * f(x)) at a few coordinates, compared with the backward kernel's dx.
struct FiniteDifference {
  std::string name;
  std::function<float(const Tensor& x)> objective;  // L(x) on the CPU
  std::function<std::vector<float>(const Tensor& x)> analytic;
  Shape shape;
  float lo, hi;
};

float dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(s);
}

std::vector<FiniteDifference> finite_difference_cases() {
  const Device cpu;
  std::vector<FiniteDifference> cases;
  // Every activation but linear and plain relu (the identity's pieces); kinks are measure zero
  // and the points are fixed, so none falls within a step of one.
  for (const ActivationCase& a : activation_cases()) {
    if (a.params.kind == ActivationKind::linear || ks::backends::is_plain_relu(a.params)) continue;
    const Shape s = a.shape.rank() == 3 ? Shape{3, 4, 5} : Shape{6, 7};
    const auto dy = random_values(s.numel(), 40);
    cases.push_back({"activation " + a.name,
                     [=](const Tensor& x) {
                       Tensor y = x.clone();
                       backend(cpu).activation_forward(a.params, x, y);
                       return dot(host(y), dy);
                     },
                     [=](const Tensor& x) {
                       Tensor y = x.clone(), g = Tensor::from_vector(dy, s, cpu), dx = x.clone();
                       backend(cpu).activation_forward(a.params, x, y);
                       backend(cpu).activation_backward(a.params, x, y, g, dx);
                       return host(dx);
                     },
                     s, -2.0f, 2.0f});
  }
  for (size_t i : {size_t{1}, size_t{3}, size_t{4}, size_t{5}, size_t{6}, size_t{7}, size_t{8}, size_t{9}}) {
    const auto p = conv_cases()[i];
    const Shape xs{p.batch, p.in_h, p.in_w, p.in_c}, ws = kernel_shape(p);
    const Shape ys{p.batch, p.out_h, p.out_w, p.out_c};
    const auto dy = random_values(ys.numel(), 41);
    const auto wv = random_values(ws.numel(), 42);
    const auto xv = random_values(xs.numel(), 43);
    auto conv = [=](const Tensor& x, const Tensor& w) {
      Tensor y = Tensor::empty(ys, ks::DType::float32, cpu);
      backend(cpu).conv2d_forward(p, x, w, nullptr, y, ActivationKind::linear);
      return dot(host(y), dy);
    };
    cases.push_back({"conv2d input gradient #" + std::to_string(i),
                     [=](const Tensor& x) { return conv(x, Tensor::from_vector(wv, ws, cpu)); },
                     [=](const Tensor&) {
                       Tensor dx = Tensor::empty(xs, ks::DType::float32, cpu);
                       backend(cpu).conv2d_backward_data(p, Tensor::from_vector(dy, ys, cpu),
                                                         Tensor::from_vector(wv, ws, cpu), dx);
                       return host(dx);
                     },
                     xs, -1.0f, 1.0f});
    cases.push_back({"conv2d weight gradient #" + std::to_string(i),
                     [=](const Tensor& w) { return conv(Tensor::from_vector(xv, xs, cpu), w); },
                     [=](const Tensor&) {
                       Tensor dw = Tensor::empty(ws, ks::DType::float32, cpu);
                       backend(cpu).conv2d_backward_weights(p, Tensor::from_vector(xv, xs, cpu),
                                                            Tensor::from_vector(dy, ys, cpu), dw, nullptr);
                       return host(dw);
                     },
                     ws, -1.0f, 1.0f});
  }
  for (const auto& p : {pool_cases()[1], pool_cases()[3]}) {
    const Shape xs{p.batch, p.in_h, p.in_w, p.channels}, ys{p.batch, p.out_h, p.out_w, p.channels};
    const auto dy = random_values(ys.numel(), 44);
    cases.push_back({std::string(p.kind == PoolKind::max ? "max" : "average") + " pooling gradient",
                     [=](const Tensor& x) {
                       Tensor y = Tensor::empty(ys, ks::DType::float32, cpu);
                       backend(cpu).pool2d_forward(p, x, y);
                       return dot(host(y), dy);
                     },
                     [=](const Tensor& x) {
                       Tensor y = Tensor::empty(ys, ks::DType::float32, cpu), dx = x.clone();
                       backend(cpu).pool2d_forward(p, x, y);
                       backend(cpu).pool2d_backward(p, x, y, Tensor::from_vector(dy, ys, cpu), dx);
                       return host(dx);
                     },
                     xs, -1.0f, 1.0f});
  }
  for (int training = 0; training < 2; ++training) {
    const Shape s{6, 2, 3};
    const auto dy = random_values(s.numel(), 45);
    const auto p = bn_params(s, training);
    // Fresh moving statistics per call: training updates them, and the objective must be one
    // function of x.
    auto forward = [=](const Tensor& x, Tensor& mean, Tensor& inv_std) {
      Tensor gamma = random(cpu, {3}, 46, 0.5f, 1.5f), beta = random(cpu, {3}, 47);
      Tensor mm = random(cpu, {3}, 48), mv = random(cpu, {3}, 49, 0.5f, 2.0f), y = x.clone();
      backend(cpu).batch_norm_forward(p, x, &gamma, &beta, mm, mv, mean, inv_std, y);
      return y;
    };
    cases.push_back({std::string("batch_norm input gradient ") + (training ? "training" : "inference"),
                     [=](const Tensor& x) {
                       Tensor mean = Tensor::empty({3}, ks::DType::float32, cpu), inv_std = mean.clone();
                       return dot(host(forward(x, mean, inv_std)), dy);
                     },
                     [=](const Tensor& x) {
                       Tensor mean = Tensor::empty({3}, ks::DType::float32, cpu), inv_std = mean.clone();
                       forward(x, mean, inv_std);
                       Tensor dx = x.clone(), dgamma = mean.clone(), dbeta = mean.clone();
                       Tensor gamma = random(cpu, {3}, 46, 0.5f, 1.5f);
                       backend(cpu).batch_norm_backward(p, x, Tensor::from_vector(dy, s, cpu), &gamma, mean, inv_std,
                                                        &dx, dgamma, dbeta);
                       return host(dx);
                     },
                     s, -1.0f, 1.0f});
  }
  {
    const Shape s{4, 9};
    const auto dy = random_values(s.numel(), 50);
    const LayerNormParams p{4, 9, 1e-3f};
    auto forward = [=](const Tensor& x, Tensor& mean, Tensor& inv_std) {
      Tensor gamma = random(cpu, {9}, 51), beta = random(cpu, {9}, 52), y = x.clone();
      backend(cpu).layer_norm_forward(p, x, &gamma, &beta, mean, inv_std, y);
      return y;
    };
    cases.push_back({"layer_norm input gradient",
                     [=](const Tensor& x) {
                       Tensor mean = Tensor::empty({4}, ks::DType::float32, cpu), inv_std = mean.clone();
                       return dot(host(forward(x, mean, inv_std)), dy);
                     },
                     [=](const Tensor& x) {
                       Tensor mean = Tensor::empty({4}, ks::DType::float32, cpu), inv_std = mean.clone();
                       forward(x, mean, inv_std);
                       Tensor dx = x.clone(), gamma = random(cpu, {9}, 51);
                       backend(cpu).layer_norm_backward(p, x, Tensor::from_vector(dy, s, cpu), &gamma, mean, inv_std,
                                                        &dx, nullptr, nullptr);
                       return host(dx);
                     },
                     s, -1.0f, 1.0f});
  }
  for (size_t i = 0; i < spatial_copy_cases().size(); ++i) {
    const auto p = spatial_copy_cases()[i];
    const Shape xs{p.batch, p.in_h, p.in_w, p.channels}, ys{p.batch, p.out_h, p.out_w, p.channels};
    const auto dy = random_values(ys.numel(), 66);
    cases.push_back({"spatial_copy2d gradient #" + std::to_string(i),
                     [=](const Tensor& x) {
                       Tensor y = Tensor::empty(ys, ks::DType::float32, cpu);
                       backend(cpu).spatial_copy2d(p, x, y);
                       return dot(host(y), dy);
                     },
                     [=](const Tensor&) {
                       Tensor dx = Tensor::empty(xs, ks::DType::float32, cpu);
                       backend(cpu).spatial_copy2d_backward(p, Tensor::from_vector(dy, ys, cpu), dx);
                       return host(dx);
                     },
                     xs, -1.0f, 1.0f});
  }
  // Losses smooth over (-2, 2) (the piecewise ones have kinks there; losses_keras3_test checks them).
  for (LossKind k : {LossKind::sparse_categorical_crossentropy, LossKind::categorical_crossentropy,
                     LossKind::binary_crossentropy, LossKind::mean_squared_error, LossKind::log_cosh,
                     LossKind::cosine_similarity}) {
    const bool logits = k == LossKind::sparse_categorical_crossentropy || k == LossKind::categorical_crossentropy ||
                        k == LossKind::binary_crossentropy;
    const int64_t rows = 5, cols = 4;
    cases.push_back({std::string("loss ") + loss_name(k) + (logits ? " from_logits" : ""),
                     [=](const Tensor& x) {
                       Tensor sample = Tensor::empty({rows}, ks::DType::float32, cpu);
                       backend(cpu).loss({k, logits, 1.0f / rows}, x, loss_target(cpu, k, rows, cols), sample, nullptr);
                       const auto v = host(sample);
                       return dot(v, std::vector<float>(v.size(), 1.0f / rows));
                     },
                     [=](const Tensor& x) {
                       Tensor sample = Tensor::empty({rows}, ks::DType::float32, cpu), g = x.clone();
                       backend(cpu).loss({k, logits, 1.0f / rows}, x, loss_target(cpu, k, rows, cols), sample, &g);
                       return host(g);
                     },
                     Shape{rows, cols}, -2.0f, 2.0f});
  }
  return cases;
}

int check_finite_differences() {
  int failures = 0;
  for (const auto& c : finite_difference_cases()) {
    std::vector<float> x0 = random_values(c.shape.numel(), 50, c.lo, c.hi);
    const auto analytic = c.analytic(Tensor::from_vector(x0, c.shape, Device()));
    double worst = 0;
    const size_t n = x0.size(), step = std::max<size_t>(1, n / 24);  // about 24 coordinates
    for (size_t i = 0; i < n; i += step) {
      const float h = 1e-3f;
      auto at = [&](float delta) {
        std::vector<float> x = x0;
        x[i] += delta;
        return c.objective(Tensor::from_vector(x, c.shape, Device()));
      };
      const double numeric = (static_cast<double>(at(h)) - at(-h)) / (2.0 * h);
      const double err = std::fabs(numeric - analytic[i]) / std::max(1.0, std::fabs(numeric));
      worst = std::max(worst, err);
    }
    const bool ok = worst < 2e-2;
    std::printf("  %-4s CPU finite differences: %-40s worst relative error %.1e\n", ok ? "ok" : "FAIL", c.name.c_str(),
                worst);
    failures += !ok;
  }
  return failures;
}

// --- comparison -----------------------------------------------------------------------------------

/// Worst |a - b| / max(1, |b|) over every output, or infinity on a size mismatch.
double compare(const Outputs& got, const Outputs& want) {
  if (got.size() != want.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i].size() != want[i].size()) return INFINITY;
    for (size_t j = 0; j < got[i].size(); ++j) {
      const double a = got[i][j], b = want[i][j];
      if (std::isnan(a) != std::isnan(b)) return INFINITY;
      if (!std::isnan(a)) worst = std::max(worst, std::fabs(a - b) / std::max(1.0, std::fabs(b)));
    }
  }
  return worst;
}

int usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s --mode value|gradient [--logical-cpus N] [--tolerance T]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode;
  int logical_cpus = 1;
  double tolerance = 1e-4;  // GPU libraries sum in another order than the CPU's
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--mode" && i + 1 < argc) {
      mode = argv[++i];
    } else if (arg == "--logical-cpus" && i + 1 < argc) {
      logical_cpus = std::atoi(argv[++i]);
    } else if (arg == "--tolerance" && i + 1 < argc) {
      tolerance = std::atof(argv[++i]);
    } else {
      return usage(argv[0]);
    }
  }
  if ((mode != "value" && mode != "gradient") || logical_cpus < 1) return usage(argv[0]);
  // Float32 is compared at float32 tolerances: TF32 off (cases "with TF32" turn it on themselves).
  ks::config::experimental::enable_tensor_float_32_execution(false);
  try {
    if (logical_cpus > 1) {
      ks::config::set_logical_device_configuration(ks::config::list_physical_devices("CPU")[0],
                                                    std::vector<ks::config::LogicalDeviceConfiguration>(logical_cpus));
    }
    std::vector<Device> devices;
    for (const auto& d : ks::config::list_logical_devices()) devices.push_back(Device::parse(d.name));
    const bool has_gpu = !ks::config::list_logical_devices("GPU").empty();
    std::printf("kerosene_op_check --mode %s: reference /CPU:0; compared:", mode.c_str());
    for (size_t i = 1; i < devices.size(); ++i) std::printf(" %s", devices[i].to_string().c_str());
    if (devices.size() == 1) std::printf(" none");
    std::printf("\n");
    if (!has_gpu) std::printf("skipped: every GPU, because %s\n", ks::doctor::diagnose().reason.c_str());

    const auto cases = mode == "value" ? value_cases() : gradient_cases();
    int failures = 0, compared = 0;
    for (const auto& c : cases) {
      const Outputs want = c.reference ? c.reference() : c.run(Device());
      for (size_t i = 1; i < devices.size(); ++i) {
        if (devices[i].is_cpu() && !cpu::cpu_computes_in(c.precision)) {
          std::string why;
          try {
            cpu::require_cpu_precision(c.precision);
          } catch (const std::exception& e) {
            why = e.what();
          }
          std::printf("  skip %-8s %-62s %s\n", devices[i].to_string().c_str(), c.name.c_str(), why.c_str());
          continue;
        }
        const double err = compare(c.run(devices[i]), want);
        const bool ok = err <= (c.tolerance > 0 ? c.tolerance : tolerance);
        std::printf("  %-4s %-8s %-62s max relative difference %.1e\n", ok ? "ok" : "FAIL",
                    devices[i].to_string().c_str(), c.name.c_str(), err);
        failures += !ok;
        ++compared;
      }
      if (devices.size() == 1) std::printf("  ran  /CPU:0   %s (nothing to compare with)\n", c.name.c_str());
    }
    if (mode == "gradient") failures += check_finite_differences();
    std::printf("%d comparison(s) across %zu device(s), %d failure(s)\n", compared, devices.size(), failures);
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kerosene_op_check: error: %s\n", e.what());
    return 1;
  }
}
