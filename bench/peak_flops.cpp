// This CPU's single-core peak arithmetic rate, measured: the denominator of the benchmark's
// "arithmetic floor" (bench/compare.py: FLOPs per epoch / peak FLOP/s).
//
//   g++ -O2 -std=c++17 bench/peak_flops.cpp -o build/peak_flops && build/peak_flops
//   (or cmake -DKEROSENE_BUILD_BENCH=ON: build/bench/peak_flops; compare.py builds it with g++
//   into build/ when neither exists)
//
// Prints one JSON object:
//   {"f32": {"isa": "avx512f", "gflops": ...}, "f32_avx2": {...}, "f32_avx512": {...} | null,
//    "bf16": {"isa": "avx512bf16 vdpbf16ps", "gflops": ...} | null, "bf16_note": "...", ...}
// "f32" is the AVX-512 rate when the CPU has AVX-512F, else the AVX2 one.
//
// How: each kernel keeps kChains independent accumulator chains in registers, so the FMA (or
// dot-product) latency times the number of ports is covered and the units never wait; it runs
// for about 0.2 s per trial and reports the best of several trials. Trials are timed in this
// thread's CPU time, not wall time: on a shared machine the scheduler hands the core to other
// processes, which stretches the wall clock but not the rate while this thread runs. Flops counted: an FMA lane = 2, a vdpbf16ps lane = 4
// (two bf16 products and their two additions into one float).
//
// The program is compiled for any x86-64 (no -march); the wide kernels carry target attributes
// and run only when __builtin_cpu_supports says the CPU has their instructions.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace {

constexpr int kChains = 12;  // > latency (4-6 cycles) x ports (2) on current x86 cores
constexpr int kTrials = 7;
constexpr double kTrialSeconds = 0.2;

double now() {  // this thread's CPU time, in seconds
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Each kernel runs `iterations` x kChains vector operations and returns a value that depends on
// every accumulator, so that the compiler keeps all of them.
__attribute__((target("avx2,fma"))) float fma_avx2(int64_t iterations) {
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  }
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  alignas(32) float out[8];
  _mm256_store_ps(out, sum);
  return out[0] + out[7];
}

// (Not _mm512_reduce_add_ps: GCC 12's header warns about it under -Wall.)
__attribute__((target("avx512f"))) float lane_sum(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0;
  for (float x : lanes) sum += x;
  return sum;
}

__attribute__((target("avx512f"))) float fma_avx512(int64_t iterations) {
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-6f);
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_fmadd_ps(acc[c], a, b);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  return lane_sum(sum);
}

__attribute__((target("avx512f,avx512bf16"))) float dot_bf16(int64_t iterations) {
  // 0x3A83 is bf16 for ~0.001: the sums stay small and finite however long the trial runs.
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3A83), b = (__m512bh)_mm512_set1_epi16(0x3A83);
  __m512 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm512_set1_ps(float(c));
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 12
    for (int c = 0; c < kChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], a, b);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  return lane_sum(sum);
}

volatile float g_sink;  // keeps the kernels' results alive

// Best FLOP/s over kTrials trials of about kTrialSeconds each. flops_per_iteration counts all
// kChains operations of one loop iteration.
template <typename Kernel>
double best_flops(Kernel kernel, double flops_per_iteration) {
  int64_t iterations = 1 << 16;
  for (;;) {  // calibrate: grow until one run takes a tenth of a trial
    const double t0 = now();
    g_sink = kernel(iterations);
    if (now() - t0 > kTrialSeconds / 10) break;
    iterations *= 2;
  }
  iterations *= 10;
  double best = 0;
  for (int trial = 0; trial < kTrials; ++trial) {
    const double t0 = now();
    g_sink = kernel(iterations);
    const double seconds = now() - t0;
    best = std::max(best, flops_per_iteration * double(iterations) / seconds);
  }
  return best;
}

std::string entry(const char* isa, double flops) {
  char text[160];
  std::snprintf(text, sizeof text, "{\"isa\": \"%s\", \"gflops\": %.2f}", isa, flops / 1e9);
  return text;
}

}  // namespace

int main() {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const bool bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
  if (!avx2) {
    std::printf("{\"error\": \"this CPU has no AVX2/FMA: not an x86-64-v3 machine\"}\n");
    return 1;
  }
  const std::string f32_avx2 = entry("avx2+fma", best_flops(fma_avx2, kChains * 8 * 2.0));
  const std::string f32_avx512 = avx512 ? entry("avx512f", best_flops(fma_avx512, kChains * 16 * 2.0)) : "null";
  const std::string bf16_dot = bf16 ? entry("avx512bf16 vdpbf16ps", best_flops(dot_bf16, kChains * 16 * 4.0)) : "null";
  std::printf("{\"threads\": 1, \"clock\": \"thread CPU time\", \"chains\": %d, \"trials\": %d, \"f32\": %s, \"f32_avx2\": %s, \"f32_avx512\": %s, "
              "\"bf16\": %s, \"bf16_note\": \"%s\"}\n",
              kChains, kTrials, (avx512 ? f32_avx512 : f32_avx2).c_str(), f32_avx2.c_str(), f32_avx512.c_str(),
              bf16_dot.c_str(),
              bf16 ? "vdpbf16ps: 2 bf16 products + 2 adds per float lane"
                   : "not available: this CPU has no avx512bf16");
  return 0;
}
