#include "backends/cpu/conv_max_pool.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/batch_chunks.h"
#include "backends/cpu/precision_support.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KEROSENE_FUSED_CONV_POOL 1
#endif

namespace kerosene::backends::cpu {

#if KEROSENE_FUSED_CONV_POOL
namespace {

// The sample's image with the convolution's padding around it (zeros), so that the kernels
// below read every tap without bounds checks; unpadded images are read in place.
class PaddedImage {
 public:
  explicit PaddedImage(const Conv2DParams& p)
      : p_(p), padded_(p.pad_top || p.pad_left || p.pad_bottom || p.pad_right),
        height_(p.in_h + p.pad_top + p.pad_bottom), width_(p.in_w + p.pad_left + p.pad_right) {
    if (padded_) buffer_.assign(static_cast<size_t>(height_ * width_), 0.0f);
  }
  int64_t width() const { return width_; }
  const float* of(const float* image) {
    if (!padded_) return image;
    for (int64_t h = 0; h < p_.in_h; ++h) {
      std::copy(image + h * p_.in_w, image + (h + 1) * p_.in_w,
                buffer_.data() + (h + p_.pad_top) * width_ + p_.pad_left);
    }
    return buffer_.data();
  }

 private:
  const Conv2DParams& p_;
  bool padded_;
  int64_t height_, width_;
  std::vector<float> buffer_;
};

// Window pixel q's offset in the image: rows (q / 2), columns (q % 2).
inline int64_t pixel_offset(int q, int64_t width) { return (q >> 1) * width + (q & 1); }

// One pooled pixel for kBlocks blocks of 8 filters: the window's four convolution outputs per
// block (8 accumulators for two blocks, enough independent FMA chains to cover the FMA
// latency; one block alone keeps four), each input pixel broadcast once for every block.
template <int kKh, int kKw, int kBlocks>
inline void pooled_pixel(const float* corner, int64_t width, const float* w, int64_t c_out, const __m256* bias,
                         bool relu, float* out, int32_t* won) {
  __m256 acc[kBlocks][4];
  for (int b = 0; b < kBlocks; ++b) {
    for (int q = 0; q < 4; ++q) acc[b][q] = bias[b];
  }
  for (int kh = 0; kh < kKh; ++kh) {
    for (int kw = 0; kw < kKw; ++kw) {
      const float* at = corner + kh * width + kw;
      __m256 tap[kBlocks];
      for (int b = 0; b < kBlocks; ++b) tap[b] = _mm256_loadu_ps(w + (kh * kKw + kw) * c_out + 8 * b);
      for (int q = 0; q < 4; ++q) {
        const __m256 pixel = _mm256_broadcast_ss(at + pixel_offset(q, width));
        for (int b = 0; b < kBlocks; ++b) acc[b][q] = _mm256_fmadd_ps(pixel, tap[b], acc[b][q]);
      }
    }
  }
  for (int b = 0; b < kBlocks; ++b) {
    // The first maximum in row-major order: a later pixel wins only when strictly greater, as
    // TensorFlow's MaxPoolGrad (and kerosene's unfused pooling) route the gradient.
    __m256 best = acc[b][0], index = _mm256_setzero_ps();
    for (int q = 1; q < 4; ++q) {
      const __m256 greater = _mm256_cmp_ps(acc[b][q], best, _CMP_GT_OQ);
      best = _mm256_blendv_ps(best, acc[b][q], greater);
      index = _mm256_blendv_ps(index, _mm256_set1_ps(static_cast<float>(q)), greater);
    }
    if (relu) {  // max(relu(z)) = relu(max z); the gradient stops where that is 0
      const __m256 blocked = _mm256_cmp_ps(best, _mm256_setzero_ps(), _CMP_LE_OQ);
      index = _mm256_blendv_ps(index, _mm256_set1_ps(4.0f), blocked);
      best = _mm256_max_ps(_mm256_setzero_ps(), best);  // NaN stays NaN (maxps returns its second operand)
    }
    _mm256_storeu_ps(out + 8 * b, best);
    if (won) _mm256_storeu_si256(reinterpret_cast<__m256i*>(won + 8 * b), _mm256_cvttps_epi32(index));
  }
}

template <int kKh, int kKw>
void forward(const Conv2DParams& p, const float* x, const float* w, const float* bias, bool relu, float* y,
             int32_t* winners) {
  const int64_t c_out = p.out_c, pooled_h = p.out_h / 2, pooled_w = p.out_w / 2;
  PaddedImage padded(p);
  const int64_t width = padded.width();
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* image = padded.of(x + n * p.in_h * p.in_w);
    float* out = y + n * pooled_h * pooled_w * c_out;
    int32_t* won = winners ? winners + n * pooled_h * pooled_w * c_out : nullptr;
    for (int64_t ob = 0; ob < c_out;) {
      const int blocks = c_out - ob >= 16 ? 2 : 1;
      __m256 b[2];
      for (int k = 0; k < blocks; ++k) b[k] = bias ? _mm256_loadu_ps(bias + ob + 8 * k) : _mm256_setzero_ps();
      for (int64_t ph = 0; ph < pooled_h; ++ph) {
        for (int64_t pw = 0; pw < pooled_w; ++pw) {
          const float* corner = image + 2 * ph * width + 2 * pw;
          const int64_t at = (ph * pooled_w + pw) * c_out + ob;
          if (blocks == 2) {
            pooled_pixel<kKh, kKw, 2>(corner, width, w + ob, c_out, b, relu, out + at, won ? won + at : nullptr);
          } else {
            pooled_pixel<kKh, kKw, 1>(corner, width, w + ob, c_out, b, relu, out + at, won ? won + at : nullptr);
          }
        }
      }
      ob += 8 * blocks;
    }
  }
}

// v rounded to bfloat16's values (nearest, ties to even; inf and NaN as they are).
inline __m256 round_to_bfloat16(__m256 v) {
  const __m256i exponent = _mm256_set1_epi32(0x7f800000), half = _mm256_set1_epi32(0x7fff);
  const __m256i one = _mm256_set1_epi32(1), high = _mm256_set1_epi32(static_cast<int>(0xffff0000u));
  const __m256i bits = _mm256_castps_si256(v);
  const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), one);
  const __m256i rounded = _mm256_and_si256(_mm256_add_epi32(bits, _mm256_add_epi32(half, odd)), high);
  const __m256i special = _mm256_cmpeq_epi32(_mm256_and_si256(bits, exponent), exponent);
  return _mm256_castsi256_ps(_mm256_blendv_epi8(rounded, bits, special));
}

// kRoundDy: the pooled gradient rounded to bfloat16 as it is loaded (mixed_bfloat16), where a
// separate pass over it cost more than the rounding in registers.
template <int kKh, int kKw, bool kRoundDy>
void backward_weights(const Conv2DParams& p, const float* x, const int32_t* winners, const float* dy, float* dw,
                      float* db) {
  constexpr int kTaps = kKh * kKw;
  const int64_t c_out = p.out_c, pooled_h = p.out_h / 2, pooled_w = p.out_w / 2;
  PaddedImage padded(p);
  const int64_t width = padded.width();
  std::fill(dw, dw + kTaps * c_out, 0.0f);
  if (db) std::fill(db, db + c_out, 0.0f);
  // Sample by sample, then each block of 8 filters (as conv_weights_grad.cpp): one sample's
  // pooled gradient and winners stay in L1 while the blocks take their turns.
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* image = padded.of(x + n * p.in_h * p.in_w);
    const float* grad = dy + n * pooled_h * pooled_w * c_out;
    const int32_t* won = winners + n * pooled_h * pooled_w * c_out;
    for (int64_t ob = 0; ob < c_out; ob += 8) {
      __m256 acc[kTaps];
      for (int t = 0; t < kTaps; ++t) acc[t] = _mm256_loadu_ps(dw + t * c_out + ob);
      __m256 bias_acc = db ? _mm256_loadu_ps(db + ob) : _mm256_setzero_ps();
      for (int64_t ph = 0; ph < pooled_h; ++ph) {
        for (int64_t pw = 0; pw < pooled_w; ++pw) {
          const int64_t at = (ph * pooled_w + pw) * c_out + ob;
          __m256 g = _mm256_loadu_ps(grad + at);
          if constexpr (kRoundDy) g = round_to_bfloat16(g);
          const __m256i winner = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(won + at));
          const float* corner = image + 2 * ph * width + 2 * pw;
          // The gradient where window pixel q won, 0 elsewhere.
          __m256 gq[4];
          for (int q = 0; q < 4; ++q) {
            gq[q] = _mm256_and_ps(g, _mm256_castsi256_ps(_mm256_cmpeq_epi32(winner, _mm256_set1_epi32(q))));
          }
          bias_acc = _mm256_add_ps(bias_acc, _mm256_add_ps(_mm256_add_ps(gq[0], gq[1]), _mm256_add_ps(gq[2], gq[3])));
          // Pixel-major, as in forward: each patch pixel broadcast once, for every tap it meets.
#pragma GCC unroll 64
          for (int r = 0; r <= kKh; ++r) {
#pragma GCC unroll 64
            for (int c = 0; c <= kKw; ++c) {
              const __m256 pixel = _mm256_broadcast_ss(corner + r * width + c);
#pragma GCC unroll 4
              for (int q = 0; q < 4; ++q) {
                const int kh = r - (q >> 1), kw = c - (q & 1);
                if (kh < 0 || kh >= kKh || kw < 0 || kw >= kKw) continue;
                acc[kh * kKw + kw] = _mm256_fmadd_ps(pixel, gq[q], acc[kh * kKw + kw]);
              }
            }
          }
        }
      }
      for (int t = 0; t < kTaps; ++t) _mm256_storeu_ps(dw + t * c_out + ob, acc[t]);
      if (db) _mm256_storeu_ps(db + ob, bias_acc);
    }
  }
}

}  // namespace

bool conv_max_pool_fits(const Conv2DParams& p) {
  const bool kernel = (p.kernel_h == 3 && p.kernel_w == 3) || (p.kernel_h == 5 && p.kernel_w == 5);
  const bool plain = p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 && p.dilation_w == 1 && p.groups == 1;
  return p.in_c == 1 && kernel && plain && p.out_c % 8 == 0 && p.out_h >= 2 && p.out_w >= 2;
}

void conv_max_pool_forward_chunk(const Conv2DParams& p, const float* x, const float* w, const float* bias,
                                 bool relu, float* y, int32_t* winners) {
  if (p.kernel_h == 3) {
    forward<3, 3>(p, x, w, bias, relu, y, winners);
  } else {
    forward<5, 5>(p, x, w, bias, relu, y, winners);
  }
}

void conv_max_pool_backward_weights_chunk(const Conv2DParams& p, const float* x, const int32_t* winners,
                                          const float* dy, float* dw, float* db, bool round_dy) {
  if (p.kernel_h == 3) {
    round_dy ? backward_weights<3, 3, true>(p, x, winners, dy, dw, db)
             : backward_weights<3, 3, false>(p, x, winners, dy, dw, db);
  } else {
    round_dy ? backward_weights<5, 5, true>(p, x, winners, dy, dw, db)
             : backward_weights<5, 5, false>(p, x, winners, dy, dw, db);
  }
}

#else

bool conv_max_pool_fits(const Conv2DParams&) { return false; }
void conv_max_pool_forward_chunk(const Conv2DParams&, const float*, const float*, const float*, bool, float*,
                                 int32_t*) {}
void conv_max_pool_backward_weights_chunk(const Conv2DParams&, const float*, const int32_t*, const float*, float*,
                                          float*, bool) {}

#endif

// The backend's entries: the batch split into one chunk per team member, as the convolutions
// are (batch_chunks.h).
namespace {

int sample_chunks(const Conv2DParams& p) {
  return batch_chunks(p, 2.0 * p.batch * p.out_h * p.out_w * p.out_c * p.kernel_h * p.kernel_w);
}

// 16-bit compute, as the unfused convolution does it (inputs and weights rounded to 16 bits,
// float32 accumulation and output): the same kernels on copies of x, w (and dy) rounded to
// bfloat16's values. Products of two bfloat16 values are exact in float32, so this is that
// computation, not an approximation of it.
float round_to_bfloat16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if ((bits & 0x7f800000u) == 0x7f800000u) return v;  // inf and NaN as they are
  bits += 0x7fffu + ((bits >> 16) & 1u);              // to nearest, ties to even
  bits &= 0xffff0000u;
  std::memcpy(&v, &bits, 4);
  return v;
}

/// `t`'s values rounded to `precision` in this thread's buffer `slot` (0..1), or t's own data
/// in float32. Throws DeviceError where the CPU does not compute in `precision` (as the
/// unfused convolution would: never a silent float32 run).
const float* operands_in(ComputePrecision precision, const Tensor& t, int slot) {
  const float* data = static_cast<const float*>(t.raw_data());
  if (precision == ComputePrecision::float32) return data;
  require_cpu_precision(precision);  // float16 throws: oneDNN 2.x has no CPU float16 kernels
  thread_local std::vector<float> buffers[2];
  std::vector<float>& out = buffers[slot];
  const int64_t n = t.numel();
  out.resize(static_cast<size_t>(n));
  int64_t i = 0;
#if KEROSENE_FUSED_CONV_POOL
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out.data() + i, round_to_bfloat16(_mm256_loadu_ps(data + i)));
#endif
  for (; i < n; ++i) out[static_cast<size_t>(i)] = round_to_bfloat16(data[i]);
  return out.data();
}

}  // namespace

bool CpuBackend::fuses_conv_max_pool(const Conv2DParams& p, ComputePrecision precision) const {
  return conv_max_pool_fits(p) && precision != ComputePrecision::float16;
}

void CpuBackend::conv2d_max_pool_forward(const Conv2DParams& p, const Tensor& x, const Tensor& w, const Tensor* bias,
                                         ActivationKind fused, Tensor& y, Tensor* winners,
                                         ComputePrecision precision) {
  if (!conv_max_pool_fits(p) || (fused != ActivationKind::linear && fused != ActivationKind::relu)) {
    throw RuntimeError("conv2d_max_pool_forward: a convolution the fused kernel does not handle");
  }
  const float* px = operands_in(precision, x, 0);
  const float* pw = operands_in(precision, w, 1);
  const float* pb = bias ? static_cast<const float*>(bias->raw_data()) : nullptr;
  float* py = static_cast<float*>(y.raw_data());
  int32_t* pwin = winners ? static_cast<int32_t*>(winners->raw_data()) : nullptr;
  const int64_t in_sample = p.in_h * p.in_w, out_sample = (p.out_h / 2) * (p.out_w / 2) * p.out_c;
  for_batch_chunks(p, sample_chunks(p), [&](int, const Conv2DParams& part, int64_t first) {
    conv_max_pool_forward_chunk(part, px + first * in_sample, pw, pb, fused == ActivationKind::relu,
                                py + first * out_sample, pwin ? pwin + first * out_sample : nullptr);
  });
}

void CpuBackend::conv2d_max_pool_backward_weights(const Conv2DParams& p, const Tensor& x, const Tensor& winners,
                                                  const Tensor& dy, Tensor& dw, Tensor* db,
                                                  ComputePrecision precision) {
  const float* px = operands_in(precision, x, 0);
  const int32_t* pwin = static_cast<const int32_t*>(winners.raw_data());
  const float* pdy = static_cast<const float*>(dy.raw_data());  // rounded in the kernel under bfloat16
  const int64_t in_sample = p.in_h * p.in_w, out_sample = (p.out_h / 2) * (p.out_w / 2) * p.out_c;
  const int chunks = sample_chunks(p);
  const ChunkedWeightGrads grads(dw, db, chunks);
  for_batch_chunks(p, chunks, [&](int c, const Conv2DParams& part, int64_t first) {
    conv_max_pool_backward_weights_chunk(part, px + first * in_sample, pwin + first * out_sample,
                                         pdy + first * out_sample, grads.weights(c), grads.bias(c),
                                         precision == ComputePrecision::bfloat16);
  });
  grads.sum(p.batch);
}

}  // namespace kerosene::backends::cpu
