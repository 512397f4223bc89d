#include "backends/cpu/conv_weights_grad_bf16.h"

#include <algorithm>
#include <cstring>
#include <vector>

// x86-64 with GCC or Clang: the AVX512-BF16 intrinsics, a target attribute and
// __builtin_cpu_supports. Elsewhere nothing fits and oneDNN keeps these gradients.
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define KEROSENE_BF16_WEIGHTS_GRAD 1
#endif

namespace kerosene::backends::cpu {

#if KEROSENE_BF16_WEIGHTS_GRAD
namespace {

#define KEROSENE_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

// The packed operands of one chunk, in this thread's buffers (reused between calls): samples in
// pairs (an odd chunk's last sample paired with zeros), so that each 32-bit lane holds one
// element of samples 2m and 2m + 1, and tap (kh, kw) at output (oh, ow) reads x2 at
// (oh + kh, ow + kw) of the padded input, with no waste and no shifted copies.
//   dy2[m][oh][ow][oc][2]  x2[m][h][w][ic][2]  (h, w: padded rows and columns, zero in the padding)
struct Packed {
  int64_t sample_pairs, rows, cols;  // padded input rows and columns
  std::vector<uint32_t> dy2, x2;
};

void pack(const Conv2DParams& p, const uint16_t* x, const uint16_t* dy, float* db, Packed& k) {
  k.sample_pairs = (p.batch + 1) / 2;
  k.rows = p.out_h + p.kernel_h - 1;
  k.cols = p.out_w + p.kernel_w - 1;
  const int64_t oc = p.out_c, ic = p.in_c, out_sample = p.out_h * p.out_w * oc;
  k.dy2.assign(static_cast<size_t>(k.sample_pairs * out_sample), 0u);
  k.x2.assign(static_cast<size_t>(k.sample_pairs * k.rows * k.cols * ic), 0u);
  if (db) std::fill(db, db + oc, 0.0f);
  auto widen = [](uint16_t b) {
    const uint32_t bits = static_cast<uint32_t>(b) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
  };
  for (int64_t n = 0; n < p.batch; ++n) {
    const int shift = 16 * static_cast<int>(n % 2);
    const uint16_t* from = dy + n * out_sample;
    uint32_t* to = k.dy2.data() + (n / 2) * out_sample;
    for (int64_t e = 0; e < out_sample; ++e) to[e] |= static_cast<uint32_t>(from[e]) << shift;
    if (db) {
      for (int64_t e = 0; e < out_sample; e += oc)
        for (int64_t c = 0; c < oc; ++c) db[c] += widen(from[e + c]);
    }
    for (int64_t ih = 0; ih < p.in_h; ++ih) {
      const uint16_t* row = x + (n * p.in_h + ih) * p.in_w * ic;
      uint32_t* row_to = k.x2.data() + (((n / 2) * k.rows + ih + p.pad_top) * k.cols + p.pad_left) * ic;
      for (int64_t e = 0; e < p.in_w * ic; ++e) row_to[e] |= static_cast<uint32_t>(row[e]) << shift;
    }
  }
}

// dW for one tap, kIc input channels from ic0 and kOc x 16 output channels from oc0: kIc * kOc
// accumulators, each a stream of dot products over every output pair of the chunk.
template <int kIc, int kOc>
KEROSENE_BF16_TARGET void tap_block(const Conv2DParams& p, const Packed& k, int64_t kh, int64_t kw, int64_t ic0,
                                    int64_t oc0, float* dw) {
  __m512 acc[kIc][kOc];
  for (int a = 0; a < kIc; ++a)
    for (int b = 0; b < kOc; ++b) acc[a][b] = _mm512_setzero_ps();
  const int64_t oc = p.out_c, ic = p.in_c;
  for (int64_t m = 0; m < k.sample_pairs; ++m) {
    for (int64_t oh = 0; oh < p.out_h; ++oh) {
      const uint32_t* g = k.dy2.data() + (m * p.out_h + oh) * p.out_w * oc + oc0;
      const uint32_t* in = k.x2.data() + ((m * k.rows + oh + kh) * k.cols + kw) * ic + ic0;
      for (int64_t ow = 0; ow < p.out_w; ++ow, g += oc, in += ic) {
        __m512i gv[kOc];
        for (int b = 0; b < kOc; ++b) gv[b] = _mm512_loadu_si512(g + 16 * b);
        for (int a = 0; a < kIc; ++a) {
          const __m512i xv = _mm512_set1_epi32(static_cast<int>(in[a]));
          for (int b = 0; b < kOc; ++b) {
            acc[a][b] = _mm512_dpbf16_ps(acc[a][b], (__m512bh)xv, (__m512bh)gv[b]);
          }
        }
      }
    }
  }
  float* out = dw + ((kh * p.kernel_w + kw) * ic + ic0) * oc + oc0;
  for (int a = 0; a < kIc; ++a)
    for (int b = 0; b < kOc; ++b) _mm512_storeu_ps(out + a * oc + 16 * b, acc[a][b]);
}

using TapBlock = void (*)(const Conv2DParams&, const Packed&, int64_t, int64_t, int64_t, int64_t, float*);

// 4 input channels by 64 output channels: 16 accumulators, 4 gradient vectors and a broadcast.
// Remainders take the smaller instances.
template <int kIc>
TapBlock block_for(int oc_vectors) {
  switch (oc_vectors) {
    case 1: return tap_block<kIc, 1>;
    case 2: return tap_block<kIc, 2>;
    case 3: return tap_block<kIc, 3>;
    default: return tap_block<kIc, 4>;
  }
}

TapBlock block_for(int ic_count, int oc_vectors) {
  switch (ic_count) {
    case 1: return block_for<1>(oc_vectors);
    case 2: return block_for<2>(oc_vectors);
    case 3: return block_for<3>(oc_vectors);
    default: return block_for<4>(oc_vectors);
  }
}

}  // namespace

bool conv_weights_grad_bf16_fits(const Conv2DParams& p) {
  static const bool cpu_has_it = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
  return cpu_has_it && p.stride_h == 1 && p.stride_w == 1 && p.dilation_h == 1 && p.dilation_w == 1 &&
         p.groups == 1 && p.out_c % 16 == 0 && p.out_h == p.in_h + p.pad_top + p.pad_bottom - p.kernel_h + 1 &&
         p.out_w == p.in_w + p.pad_left + p.pad_right - p.kernel_w + 1;
}

void conv_weights_grad_bf16(const Conv2DParams& p, const uint16_t* x, const uint16_t* dy, float* dw, float* db) {
  thread_local Packed packed;
  pack(p, x, dy, db, packed);
  for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
    for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
      for (int64_t ic0 = 0; ic0 < p.in_c; ic0 += 4) {
        const int ics = static_cast<int>(std::min<int64_t>(4, p.in_c - ic0));
        for (int64_t oc0 = 0; oc0 < p.out_c; oc0 += 64) {
          const int ocv = static_cast<int>(std::min<int64_t>(64, p.out_c - oc0) / 16);
          block_for(ics, ocv)(p, packed, kh, kw, ic0, oc0, dw);
        }
      }
    }
  }
}

#else

bool conv_weights_grad_bf16_fits(const Conv2DParams&) { return false; }
void conv_weights_grad_bf16(const Conv2DParams&, const uint16_t*, const uint16_t*, float*, float*) {}

#endif

}  // namespace kerosene::backends::cpu
