// Element-wise kernels: plain loops the compiler vectorizes (-O3 -march=x86-64-v3).
#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include <sys/mman.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn.h"
#include "backends/cpu/philox_avx2.h"
#include "math/random.h"
#include "runtime/threading.h"

namespace kerosene::backends::cpu {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.raw_data()); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.raw_data()); }

template <typename From>
void cast_to_float(const From* in, float* out, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<float>(in[i]) * scale;
}

template <typename To>
void cast_from_float(const float* in, To* out, int64_t n, float scale) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<To>(in[i] * scale);
}

template <typename From, typename To>
void cast_int(const From* in, To* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<To>(in[i]);
}

template <typename To>
void cast_from(const Tensor& in, To* out, int64_t n) {
  switch (in.dtype()) {
    case DType::uint8: cast_int(static_cast<const uint8_t*>(in.raw_data()), out, n); break;
    case DType::int32: cast_int(static_cast<const int32_t*>(in.raw_data()), out, n); break;
    case DType::int64: cast_int(static_cast<const int64_t*>(in.raw_data()), out, n); break;
    case DType::float32: cast_from_float(f32(in), out, n, 1.0f); break;
  }
}

}  // namespace

int threads_for(double flops) {
  // Below ~2 MFLOP an op takes ~20 us on one core; handing half to a spinning helper costs ~1 us,
  // and below that size the split's extra primitive calls eat the gain.
  constexpr double kFlopsPerExtraThread = 2e6;
  int wanted = 1 + static_cast<int>(flops / kFlopsPerExtraThread);
  const int limit = runtime::op_threads_here();
  return wanted < limit ? wanted : limit;
}

int threads_for_elements(int64_t n) {
  constexpr int64_t kElementsPerExtraThread = 65536;
  const int64_t wanted = 1 + n / kElementsPerExtraThread;
  const int limit = runtime::op_threads_here();
  return wanted < limit ? static_cast<int>(wanted) : limit;
}

CpuBackend::CpuBackend() : onednn_(std::make_unique<OneDnn>()) {}
CpuBackend::~CpuBackend() = default;

runtime::NativeAllocator CpuBackend::native_allocator(int) {
  return {[](size_t bytes) -> void* {
            // Large blocks (a dataset, a batch's activations) in 2 MiB pages where the kernel
            // has transparent huge pages on madvise: a training epoch gathers rows at random
            // from a 188 MB MNIST array, and with 4 KiB pages nearly every row costs a TLB
            // miss (the MLP's epoch: 7% faster, bench/RESULTS.md). KEROSENE_CPU_HUGE_PAGES=0: off.
            constexpr size_t kHuge = size_t{2} << 20;
            static const bool huge = [] {
              const char* env = std::getenv("KEROSENE_CPU_HUGE_PAGES");
              return !(env && std::strcmp(env, "0") == 0);
            }();
            if (huge && bytes >= 4 * kHuge) {
              const size_t size = (bytes + kHuge - 1) / kHuge * kHuge;
              void* p = std::aligned_alloc(kHuge, size);
              if (p) madvise(p, size, MADV_HUGEPAGE);  // advice only: a refusal changes nothing
              return p;
            }
            // 64-byte alignment for AVX-512 loads; aligned_alloc wants a multiple of it.
            return std::aligned_alloc(64, (bytes + 63) / 64 * 64);
          },
          [](void* p) { std::free(p); }};
}

void CpuBackend::copy_from_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t bytes) { std::memcpy(dst, src, bytes); }
void CpuBackend::copy_on_device(void* dst, const void* src, size_t bytes) { std::memmove(dst, src, bytes); }

void CpuBackend::fill(Tensor& out, float value) {
  float* p = f32(out);
  for (int64_t i = 0, n = out.numel(); i < n; ++i) p[i] = value;
}

void CpuBackend::cast(const Tensor& in, Tensor& out, float scale) {
  const int64_t n = in.numel();
  if (out.dtype() == DType::float32) {
    float* o = f32(out);
    switch (in.dtype()) {
      case DType::uint8: cast_to_float(static_cast<const uint8_t*>(in.raw_data()), o, n, scale); break;
      case DType::int32: cast_to_float(static_cast<const int32_t*>(in.raw_data()), o, n, scale); break;
      case DType::int64: cast_to_float(static_cast<const int64_t*>(in.raw_data()), o, n, scale); break;
      case DType::float32: cast_to_float(f32(in), o, n, scale); break;
    }
    return;
  }
  switch (out.dtype()) {
    case DType::uint8: cast_from(in, static_cast<uint8_t*>(out.raw_data()), n); break;
    case DType::int32: cast_from(in, static_cast<int32_t*>(out.raw_data()), n); break;
    case DType::int64: cast_from(in, static_cast<int64_t*>(out.raw_data()), n); break;
    case DType::float32: break;
  }
}

void CpuBackend::dropout_forward(const Tensor& x, Tensor& mask, Tensor& y, float rate, uint64_t seed,
                                 uint64_t offset) {
  const float* in = f32(x);
  float* m = f32(mask);
  float* out = f32(y);
  const float keep_scale = 1.0f / (1.0f - rate);
  const int64_t n = x.numel();
  int64_t i = 0;
#if defined(__AVX2__)
  // 32 elements (8 counters) at a time where the counters' high halves agree: the same words.
  const __m256 threshold = _mm256_set1_ps(rate), keep = _mm256_set1_ps(keep_scale);
  const __m256 unit = _mm256_set1_ps(1.0f / 16777216.0f);
  for (; i + 32 <= n; i += 32) {
    const uint64_t counter = offset + static_cast<uint64_t>(i / 4);
    if ((counter >> 32) != ((counter + 7) >> 32)) break;  // the rest, one counter at a time
    __m256i words[4];
    philox_words_x8(seed, counter, words);
    for (int k = 0; k < 4; ++k) {
      const __m256 u = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(words[k], 8)), unit);
      const __m256 mk = _mm256_and_ps(_mm256_cmp_ps(u, threshold, _CMP_GE_OQ), keep);
      _mm256_storeu_ps(m + i + 8 * k, mk);
      _mm256_storeu_ps(out + i + 8 * k, _mm256_mul_ps(_mm256_loadu_ps(in + i + 8 * k), mk));
    }
  }
#endif
  for (; i < n; i += 4) {
    math::Philox4 r = math::philox(seed, offset + static_cast<uint64_t>(i / 4));
    for (int k = 0; k < 4 && i + k < n; ++k) {
      m[i + k] = math::uniform_from_bits(r.v[k]) >= rate ? keep_scale : 0.0f;
      out[i + k] = in[i + k] * m[i + k];
    }
  }
}

void CpuBackend::multiply(const Tensor& a, const Tensor& b, Tensor& out) {
  const float* x = f32(a);
  const float* z = f32(b);
  float* o = f32(out);
  for (int64_t i = 0, n = a.numel(); i < n; ++i) o[i] = x[i] * z[i];
}

void CpuBackend::scale_rows(const Tensor& x, const Tensor& w, Tensor& out) {
  const float* in = f32(x);
  const float* weight = f32(w);
  float* o = f32(out);
  const int64_t rows = w.numel(), cols = rows > 0 ? x.numel() / rows : 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < cols; ++j) o[r * cols + j] = in[r * cols + j] * weight[r];
  }
}

void CpuBackend::bias_grad(const Tensor& dy, Tensor& db) {
  const int64_t cols = db.numel(), rows = dy.numel() / cols;
  const float* g = f32(dy);
  float* d = f32(db);
  std::memset(d, 0, cols * sizeof(float));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = g + r * cols;
    for (int64_t j = 0; j < cols; ++j) d[j] += row[j];
  }
}

void CpuBackend::sum(const Tensor& x, Tensor& out) {
  const float* p = f32(x);
  double s = 0;
  for (int64_t i = 0, n = x.numel(); i < n; ++i) s += p[i];
  f32(out)[0] = static_cast<float>(s);
}

bool CpuBackend::all_finite(const Tensor& x) {
  const float* p = f32(x);
  bool finite = true;
  for (int64_t i = 0, n = x.numel(); i < n; ++i) finite &= std::isfinite(p[i]);
  return finite;
}

}  // namespace kerosene::backends::cpu
