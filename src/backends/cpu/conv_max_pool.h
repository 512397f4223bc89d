// A one-channel convolution (+ReLU) and the 2x2, stride-2 max pooling after it, in one pass:
// the first two layers of an MNIST-style CNN (Conv2D(32, 3, activation="relu"),
// MaxPooling2D(2)), fused by the graph executor (train/layer_fusion.h).
//
// Why: unfused, the convolution writes its output (26x26x32 floats, 86.5 KB a sample) and the
// pooling, the ReLU mask and the weight gradient read it again each way: on the Zen 4 VM that
// was 41 of the MNIST CNN's 50 us of step time per sample (bench/RESULTS.md). Fused, each
// window's four convolution outputs live in registers: forward keeps the maximum and which
// pixel won, backward routes the pooled gradient to the winner while it accumulates the
// weight gradient. Nothing of the size of the convolution's output is written either way.
//
// The input's gradient is not computed: the executor fuses only a convolution whose input is a
// model input. Other shapes, and float16 compute, run unfused; bfloat16 runs these kernels on
// operands rounded to it.
#pragma once

#include <cstdint>

#include "backends/backend.h"

namespace kerosene::backends::cpu {

/// Whether the fused kernels handle this convolution: one input channel, 3x3 or 5x5, stride
/// and dilation 1, any padding, filters a multiple of 8, an output of at least 2x2.
bool conv_max_pool_fits(const Conv2DParams& p);

/// For samples [0, p.batch): y (N, out_h / 2, out_w / 2, out_c) = the max over each 2x2 window
/// of act(conv(x) + bias) (act: linear or relu); winners (same shape, may be null): which pixel
/// of the window is the first maximum (0 top left, 1 top right, 2 bottom left, 3 bottom right),
/// or 4 where the ReLU's gradient is 0 (the maximum is not positive).
void conv_max_pool_forward_chunk(const Conv2DParams& p, const float* x, const float* w, const float* bias,
                                 bool relu, float* y, int32_t* winners);

/// dw (HWIO) and db (when not null) of the fused op for samples [0, p.batch), from the pooled
/// gradient dy and the forward's winners; overwrites them.
void conv_max_pool_backward_weights_chunk(const Conv2DParams& p, const float* x, const int32_t* winners,
                                          const float* dy, float* dw, float* db, bool round_dy_to_bfloat16);

}  // namespace kerosene::backends::cpu
