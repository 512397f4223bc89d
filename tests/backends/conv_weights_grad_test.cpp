// The direct weight-gradient kernel for one-channel convolutions (conv_weights_grad.cpp)
// against a plain loop, through the backend entry that dispatches to it, for the shapes it
// takes (3x3 and 5x5, strides 1 and 2, batch split across the team) and one it leaves to oneDNN.
#include <gtest/gtest.h>

#include "backends/backend.h"
#include "backends/cpu/conv_weights_grad.h"
#include "backends/cpu/conv_weights_grad_bf16.h"
#include "backends/cpu/precision_support.h"
#include "op_check/rounding.h"
#include "test_util.h"

namespace kerosene {
namespace {

using backends::Conv2DParams;

struct Case {
  int64_t batch, in_h, in_w, in_c, out_c, kernel, stride;
  int64_t pad = 0;  // on every side ("same" for a 3x3 kernel at 1, for 5x5 at 2)
};

Conv2DParams params_of(const Case& c) {
  const int64_t out_h = (c.in_h + 2 * c.pad - c.kernel) / c.stride + 1;
  const int64_t out_w = (c.in_w + 2 * c.pad - c.kernel) / c.stride + 1;
  return {c.batch, c.in_h,   c.in_w,   c.in_c, out_h, out_w, c.out_c, c.kernel, c.kernel,
          c.stride, c.stride, c.pad, c.pad, c.pad, c.pad};
}

// dW[kh][kw][ic][oc] = sum over n, oh, ow of x[n][oh*s+kh][ow*s+kw][ic] * dy[n][oh][ow][oc].
std::vector<float> reference(const Conv2DParams& p, const std::vector<float>& x, const std::vector<float>& dy,
                             std::vector<float>& db) {
  std::vector<double> dw(p.kernel_h * p.kernel_w * p.in_c * p.out_c, 0.0), dbias(p.out_c, 0.0);
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow)
        for (int64_t oc = 0; oc < p.out_c; ++oc) {
          const float g = dy[((n * p.out_h + oh) * p.out_w + ow) * p.out_c + oc];
          dbias[oc] += g;
          for (int64_t kh = 0; kh < p.kernel_h; ++kh)
            for (int64_t kw = 0; kw < p.kernel_w; ++kw)
              for (int64_t ic = 0; ic < p.in_c; ++ic) {
                const int64_t ih = oh * p.stride_h + kh - p.pad_top, iw = ow * p.stride_w + kw - p.pad_left;
                if (ih < 0 || ih >= p.in_h || iw < 0 || iw >= p.in_w) continue;
                dw[((kh * p.kernel_w + kw) * p.in_c + ic) * p.out_c + oc] +=
                    x[((n * p.in_h + ih) * p.in_w + iw) * p.in_c + ic] * g;
              }
        }
  db.assign(dbias.begin(), dbias.end());
  return {dw.begin(), dw.end()};
}

class ConvWeightsGradTest : public ::testing::TestWithParam<Case> {};

TEST_P(ConvWeightsGradTest, MatchesPlainLoop) {
  const Conv2DParams p = params_of(GetParam());
  const auto x = test::uniform_values(p.batch * p.in_h * p.in_w * p.in_c, 1);
  const auto dy = test::uniform_values(p.batch * p.out_h * p.out_w * p.out_c, 2);
  std::vector<float> db_ref;
  const auto dw_ref = reference(p, x, dy, db_ref);

  Tensor tx = test::make_tensor(x, {p.batch, p.in_h, p.in_w, p.in_c});
  Tensor tdy = test::make_tensor(dy, {p.batch, p.out_h, p.out_w, p.out_c});
  Tensor dw = Tensor::zeros({p.kernel_h, p.kernel_w, p.in_c, p.out_c});
  Tensor db = Tensor::zeros({p.out_c});
  backends::backend_for(DeviceType::CPU).conv2d_backward_weights(p, tx, tdy, dw, &db);
  // Sums of up to 21,632 products of values in [-1, 1], in another order than the reference's
  // double sums: float rounding alone reaches ~1e-3 in absolute terms.
  test::expect_close(dw, dw_ref, 2e-3, 1e-4, "dw");
  test::expect_close(db, db_ref, 2e-3, 1e-4, "db");
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvWeightsGradTest,
                         ::testing::Values(Case{32, 28, 28, 1, 32, 3, 1},   // the MNIST CNN's first layer
                                           Case{5, 11, 9, 1, 16, 3, 2},     // odd batch and sizes, stride 2
                                           Case{3, 12, 12, 1, 8, 5, 1},     // 5x5
                                           Case{4, 8, 8, 3, 8, 3, 1}));     // three channels: oneDNN's path

// bfloat16: the backend's entry under ComputePrecision::bfloat16 rounds x and dy and, where the
// CPU has AVX512-BF16, runs conv_weights_grad_bf16 on every batch chunk. Its products of rounded
// values are exact, so the reference is the double-precision loop on the rounded values.
class ConvWeightsGradBf16Test : public ::testing::TestWithParam<Case> {};

TEST_P(ConvWeightsGradBf16Test, MatchesPlainLoopOnRoundedValues) {
  const Conv2DParams p = params_of(GetParam());
  using backends::ComputePrecision;
  if (!backends::cpu::cpu_computes_in(ComputePrecision::bfloat16)) {
    GTEST_SKIP() << "this CPU has no AVX512-BF16: the CPU backend refuses bfloat16 compute";
  }
  const auto x = op_check::round_all(test::uniform_values(p.batch * p.in_h * p.in_w * p.in_c, 3),
                                     ComputePrecision::bfloat16);
  const auto dy = op_check::round_all(test::uniform_values(p.batch * p.out_h * p.out_w * p.out_c, 4),
                                      ComputePrecision::bfloat16);
  std::vector<float> db_ref;
  const auto dw_ref = reference(p, x, dy, db_ref);
  Tensor tx = test::make_tensor(x, {p.batch, p.in_h, p.in_w, p.in_c});
  Tensor tdy = test::make_tensor(dy, {p.batch, p.out_h, p.out_w, p.out_c});
  Tensor dw = Tensor::full({p.kernel_h, p.kernel_w, p.in_c, p.out_c}, 7.0f);  // overwritten, not added to
  Tensor db = Tensor::full({p.out_c}, 7.0f);
  backends::backend_for(DeviceType::CPU)
      .conv2d_backward_weights(p, tx, tdy, dw, &db, ComputePrecision::bfloat16);
  test::expect_close(dw, dw_ref, 2e-3, 1e-4, "dw");
  test::expect_close(db, db_ref, 2e-3, 1e-4, "db");
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvWeightsGradBf16Test,
                         ::testing::Values(Case{16, 13, 13, 32, 64, 3, 1},    // Keras' convnet, second conv
                                           Case{5, 8, 7, 16, 32, 3, 1, 1},    // "same", odd sizes and batch
                                           Case{3, 9, 10, 3, 48, 5, 1, 2},    // 5x5, 3 channels, 48 filters
                                           Case{2, 6, 6, 7, 16, 1, 1},        // 1x1, channels not a multiple of 4
                                           Case{4, 8, 8, 8, 16, 3, 2}));      // stride 2: oneDNN's path

TEST(ConvWeightsGradBf16, TakesStrideOneDenseShapesWithSixteenFilterBlocks) {
  if (!backends::cpu::cpu_computes_in(backends::ComputePrecision::bfloat16)) GTEST_SKIP() << "no AVX512-BF16";
  EXPECT_TRUE(backends::cpu::conv_weights_grad_bf16_fits(params_of({16, 13, 13, 32, 64, 3, 1})));
  EXPECT_TRUE(backends::cpu::conv_weights_grad_bf16_fits(params_of({5, 8, 7, 16, 32, 3, 1, 1})));
  EXPECT_FALSE(backends::cpu::conv_weights_grad_bf16_fits(params_of({4, 8, 8, 8, 16, 3, 2})));
  EXPECT_FALSE(backends::cpu::conv_weights_grad_bf16_fits(params_of({4, 8, 8, 8, 24, 3, 1})));
}

TEST(ConvWeightsGradDirect, TakesOnlyOneChannelValidShapes) {
  EXPECT_TRUE(backends::cpu::conv_weights_grad_direct_fits(params_of({32, 28, 28, 1, 32, 3, 1})));
  EXPECT_FALSE(backends::cpu::conv_weights_grad_direct_fits(params_of({4, 8, 8, 3, 8, 3, 1})));
  EXPECT_FALSE(backends::cpu::conv_weights_grad_direct_fits(params_of({4, 8, 8, 1, 12, 3, 1})));
}

}  // namespace
}  // namespace kerosene
