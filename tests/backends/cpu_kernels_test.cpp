// The CPU backend's kernels one by one against naive loops: matmul in every transpose
// combination (with bias, accumulation and fused relu), bias_grad, the activations (softmax at
// extreme logits, dx aliasing dy), dropout masks, metrics, sum and all_finite.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "runtime/threading.h"
#include "math/random.h"
#include "test_util.h"

namespace kerosene::test {
namespace {

using backends::ActivationKind;
using backends::MetricKind;

backends::Backend& cpu() { return backends::backend_for(DeviceType::CPU); }

struct MatmulCase {
  bool ta, tb, bias, accumulate, relu;
};

void PrintTo(const MatmulCase& c, std::ostream* os) {
  *os << (c.ta ? "aT" : "a") << (c.tb ? "_bT" : "_b") << (c.bias ? "_bias" : "") << (c.accumulate ? "_acc" : "")
      << (c.relu ? "_relu" : "");
}

class CpuMatmulTest : public testing::TestWithParam<MatmulCase> {};

TEST_P(CpuMatmulTest, MatchesNaiveProduct) {
  const MatmulCase& c = GetParam();
  constexpr int64_t m = 5, k = 7, n = 3;
  const std::vector<float> a = uniform_values(m * k, 1), b = uniform_values(k * n, 2), bias = uniform_values(n, 3),
                           c0 = uniform_values(m * n, 4);
  // Stored transposed when asked: a is (k, m) for op(a) = a^T.
  std::vector<float> a_stored(a.size()), b_stored(b.size());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) (c.ta ? a_stored[j * m + i] : a_stored[i * k + j]) = a[i * k + j];
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) (c.tb ? b_stored[j * k + i] : b_stored[i * n + j]) = b[i * n + j];
  const Tensor at = make_tensor(a_stored, c.ta ? Shape{k, m} : Shape{m, k});
  const Tensor bt = make_tensor(b_stored, c.tb ? Shape{n, k} : Shape{k, n});
  const Tensor biast = make_tensor(bias, {n});
  Tensor out = make_tensor(c0, {m, n});
  cpu().matmul(at, c.ta, bt, c.tb, c.bias ? &biast : nullptr, out, c.accumulate,
               c.relu ? ActivationKind::relu : ActivationKind::linear, backends::ComputePrecision::float32);

  std::vector<float> expected(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = c.bias ? bias[j] : 0.0;
      for (int64_t l = 0; l < k; ++l) s += static_cast<double>(a[i * k + l]) * b[l * n + j];
      if (c.accumulate) s += c0[i * n + j];
      if (c.relu) s = std::max(s, 0.0);
      expected[i * n + j] = static_cast<float>(s);
    }
  expect_close(out, expected, 1e-5, 1e-5, "matmul");
}

INSTANTIATE_TEST_SUITE_P(Variants, CpuMatmulTest,
                         testing::Values(MatmulCase{false, false, false, false, false},
                                         MatmulCase{true, false, false, false, false},
                                         MatmulCase{false, true, false, false, false},
                                         MatmulCase{true, true, false, false, false},
                                         MatmulCase{false, false, true, false, false},
                                         MatmulCase{false, false, true, false, true},
                                         MatmulCase{true, false, false, true, false},
                                         MatmulCase{false, true, true, true, true}));

TEST(CpuKernelsTest, LargeBlocksComeIn2MiBPagesSmallOnesIn64Bytes) {
  // The CPU's native allocator puts blocks of 8 MiB and more on 2 MiB boundaries (advised as
  // transparent huge pages: a dataset's random rows then cost fewer TLB misses); small blocks
  // keep 64-byte alignment. (KEROSENE_CPU_HUGE_PAGES=0, read once per process, turns it off.)
  auto native = backends::backend_for(DeviceType::CPU).native_allocator(0);
  const char* env = std::getenv("KEROSENE_CPU_HUGE_PAGES");
  const bool huge = !(env && std::string(env) == "0");
  void* large = native.allocate(size_t{9} << 20);
  void* small = native.allocate(1000);
  ASSERT_NE(large, nullptr);
  ASSERT_NE(small, nullptr);
  if (huge) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % (uintptr_t{2} << 20), 0u);
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(small) % 64, 0u);
  static_cast<char*>(large)[(size_t{9} << 20) - 1] = 1;  // all of it is writable
  native.deallocate(large);
  native.deallocate(small);
}

TEST(CpuKernelsTest, BiasGradSumsRows) {
  const std::vector<float> dy = uniform_values(4 * 3 * 5, 5);
  Tensor db = Tensor::full({5}, 7.0f);  // overwritten, not accumulated
  cpu().bias_grad(make_tensor(dy, {4, 3, 5}), db);
  std::vector<float> expected(5, 0.0f);
  for (size_t i = 0; i < dy.size(); ++i) expected[i % 5] += dy[i];
  expect_close(db, expected, 1e-6, 1e-6, "bias_grad");
}

TEST(CpuKernelsTest, SoftmaxIsFiniteAndNormalizedAtExtremeLogits) {
  const Tensor x = make_tensor({1000, -1000, 0, 0, 88, 89, 90, 91, -1e30f, 0, 1e30f, 0}, {3, 4});
  Tensor y = Tensor::empty({3, 4});
  cpu().activation_forward({ActivationKind::softmax}, x, y);
  const std::vector<float> v = values_of(y);
  for (float p : v) EXPECT_TRUE(std::isfinite(p) && p >= 0.0f && p <= 1.0f) << p;
  for (int r = 0; r < 3; ++r) EXPECT_NEAR(v[r * 4] + v[r * 4 + 1] + v[r * 4 + 2] + v[r * 4 + 3], 1.0, 1e-6);
  EXPECT_EQ(v[0], 1.0f);
  EXPECT_EQ(v[10], 1.0f);
  std::vector<float> row{88, 89, 90, 91};
  ref_activation("softmax", row, 4);
  expect_close(std::vector<float>(v.begin() + 4, v.begin() + 8), row, 1e-7, 1e-6, "softmax of shifted logits");
}

TEST(CpuKernelsTest, SaturatingActivationsAreFiniteAtExtremes) {
  const Tensor x = make_tensor({-1e30f, -100, -20, 0, 20, 100, 1e30f}, {7});
  Tensor y = Tensor::empty({7});
  for (auto kind : {ActivationKind::sigmoid, ActivationKind::tanh, ActivationKind::gelu, ActivationKind::silu,
                    ActivationKind::elu, ActivationKind::selu, ActivationKind::softplus, ActivationKind::hard_sigmoid}) {
    cpu().activation_forward({kind}, x, y);
    for (float v : values_of(y)) EXPECT_TRUE(std::isfinite(v)) << v;
  }
}

// relu(NaN) on the CPU, the reference every GPU path is compared with (op_check's "NaN through
// relu" case): 0 both when relu runs alone (math::relu) and when oneDNN fuses it into matmul
// (its JIT relu is max(x, 0)), while the product itself carries the NaN. If this changes (NaN
// propagated, as PyTorch does), it must change on both paths and on the GPU together.
TEST(CpuKernelsTest, ReluOfNaNIsTheSameAloneAndFusedIntoMatmul) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Tensor x = make_tensor({nan, -1, 2}, {1, 3});
  Tensor y = Tensor::empty({1, 3});
  cpu().activation_forward({ActivationKind::relu}, x, y);
  const std::vector<float> alone = values_of(y);
  EXPECT_EQ(alone, (std::vector<float>{0, 0, 2}));
  const Tensor identity = make_tensor({1, 0, 0, 0, 1, 0, 0, 0, 1}, {3, 3});
  Tensor linear = Tensor::empty({1, 3}), fused = Tensor::empty({1, 3});
  cpu().matmul(x, false, identity, false, nullptr, linear, false, ActivationKind::linear,
               backends::ComputePrecision::float32);
  for (float v : values_of(linear)) EXPECT_TRUE(std::isnan(v)) << "NaN * 0 is NaN: every column sees it; got " << v;
  cpu().matmul(x, false, identity, false, nullptr, fused, false, ActivationKind::relu,
               backends::ComputePrecision::float32);
  for (float v : values_of(fused)) EXPECT_EQ(v, 0.0f) << "fused relu of NaN";
}

TEST(CpuKernelsTest, ActivationBackwardMayWriteIntoDy) {
  const Tensor x = make_tensor(uniform_values(12, 6, -2, 2), {3, 4});
  for (int k = 0; k <= static_cast<int>(ActivationKind::hard_sigmoid); ++k) {
    const auto kind = static_cast<ActivationKind>(k);
    Tensor y = Tensor::empty({3, 4});
    cpu().activation_forward({kind}, x, y);
    const std::vector<float> dy = uniform_values(12, 7);
    Tensor separate = Tensor::empty({3, 4});
    cpu().activation_backward({kind}, x, y, make_tensor(dy, {3, 4}), separate);
    Tensor aliased = make_tensor(dy, {3, 4});
    cpu().activation_backward({kind}, x, y, aliased, aliased);
    expect_close(aliased, values_of(separate), 0, 0, "activation_backward with dx == dy, kind " +
                                                         std::to_string(static_cast<int>(kind)));
  }
}

TEST(CpuKernelsTest, DropoutMaskIsZeroOrTheKeepScaleAtTheRequestedRate) {
  constexpr int64_t n = 20000;
  constexpr float rate = 0.3f;
  const Tensor x = Tensor::full({n}, 2.0f);
  Tensor mask = Tensor::empty({n}), y = Tensor::empty({n});
  cpu().dropout_forward(x, mask, y, rate, 99, 0);
  const std::vector<float> m = values_of(mask), out = values_of(y);
  int dropped = 0;
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_TRUE(m[i] == 0.0f || m[i] == 1.0f / (1.0f - rate)) << m[i];
    EXPECT_EQ(out[i], 2.0f * m[i]);
    dropped += m[i] == 0.0f;
  }
  EXPECT_NEAR(dropped / static_cast<double>(n), rate, 0.015);  // ~5 standard errors

  // Counter-based: element i uses word i % 4 of philox(seed, offset + i / 4), every element
  // (the CPU draws 8 counters at a time in AVX2, math::philox one: the same words).
  for (int64_t i = 0; i < n; ++i) {
    const math::Philox4 r = math::philox(99, static_cast<uint64_t>(i / 4));
    ASSERT_EQ(m[i] == 0.0f, math::uniform_from_bits(r.v[i % 4]) < rate) << i;
  }
  {  // counters whose high half changes inside a block of 8, a 64-bit seed, a length not a multiple of 32
    constexpr int64_t k = 301;
    const uint64_t seed = 0x0123456789abcdefull, offset = (uint64_t{1} << 32) - 13;
    Tensor xk = Tensor::full({k}, 1.0f), mk = Tensor::empty({k}), yk = Tensor::empty({k});
    cpu().dropout_forward(xk, mk, yk, 0.5f, seed, offset);
    const std::vector<float> got = values_of(mk);
    for (int64_t i = 0; i < k; ++i) {
      const math::Philox4 r = math::philox(seed, offset + static_cast<uint64_t>(i / 4));
      ASSERT_EQ(got[static_cast<size_t>(i)] == 0.0f, math::uniform_from_bits(r.v[i % 4]) < 0.5f) << i;
    }
  }
  // An offset of 1 shifts the stream by 4 elements; another seed gives another mask.
  Tensor shifted = Tensor::empty({n}), other = Tensor::empty({n});
  cpu().dropout_forward(x, shifted, y, rate, 99, 1);
  const std::vector<float> s = values_of(shifted);
  for (int64_t i = 0; i + 4 < n; ++i) ASSERT_EQ(s[i], m[i + 4]) << i;
  cpu().dropout_forward(x, other, y, rate, 100, 0);
  EXPECT_NE(values_of(other), m);
}

TEST(CpuKernelsTest, Metrics) {
  const Tensor pred = make_tensor({0.1f, 0.7f, 0.2f, 0.5f, 0.2f, 0.3f, 0.3f, 0.3f, 0.4f}, {3, 3});
  Tensor correct = Tensor::empty({3});
  cpu().metric(MetricKind::sparse_categorical_accuracy, pred, Tensor::from_vector(std::vector<int32_t>{1, 2, 2}, {3}),
               correct);
  EXPECT_EQ(values_of(correct), (std::vector<float>{1, 0, 1}));
  cpu().metric(MetricKind::categorical_accuracy, pred, make_tensor({0, 1, 0, 1, 0, 0, 0, 1, 0}, {3, 3}), correct);
  EXPECT_EQ(values_of(correct), (std::vector<float>{1, 1, 0}));
  Tensor per_row = Tensor::empty({2});
  cpu().metric(MetricKind::binary_accuracy, make_tensor({0.9f, 0.2f, 0.6f, 0.4f}, {2, 2}),
               make_tensor({1, 0, 0, 0}, {2, 2}), per_row);
  EXPECT_EQ(values_of(per_row), (std::vector<float>{1.0f, 0.5f}));
}

TEST(CpuKernelsTest, SumAndAllFinite) {
  const std::vector<float> v = uniform_values(1001, 8);
  Tensor out = Tensor::empty({1});
  cpu().sum(make_tensor(v, {1001}), out);
  double expected = 0;
  for (float x : v) expected += x;
  EXPECT_NEAR(out.item(), expected, 1e-5);
  EXPECT_TRUE(cpu().all_finite(make_tensor(v, {1001})));
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> w = v;
    w[517] = bad;
    EXPECT_FALSE(cpu().all_finite(make_tensor(w, {1001}))) << bad;
  }
}

// A CPU replica's thread is capped at one op thread (MirroredStrategy): its ops must not split
// the batch into chunks for a team they may not use, which would only run the chunks one after
// the other (smaller products, partial weight gradients summed afterwards).
TEST(CpuKernelsTest, OpsOnACappedThreadAreNotSplitIntoChunks) {
  const int all = runtime::intra_op_threads();
  EXPECT_EQ(backends::cpu::threads_for(1e12), all);
  EXPECT_EQ(backends::cpu::threads_for_elements(int64_t{1} << 30), all);
  EXPECT_EQ(backends::cpu::threads_for(1.0), 1);  // small ops stay on one thread anyway
  {
    runtime::ScopedOpThreadsCap one(1);
    EXPECT_EQ(backends::cpu::threads_for(1e12), 1);
    EXPECT_EQ(backends::cpu::threads_for_elements(int64_t{1} << 30), 1);
  }
  EXPECT_EQ(backends::cpu::threads_for(1e12), all);  // the cap ends with its scope
}

}  // namespace
}  // namespace kerosene::test
