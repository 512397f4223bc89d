// The weight gradient of a convolution in bfloat16 (the mixed_bfloat16 policy), computed with
// AVX512-BF16 dot products.
//
// Why: oneDNN 2.6's jit_bf16 backward-weights kernel ran the Keras MNIST convnet's second
// convolution (32 -> 64 channels, 3x3 on 13x13) at ~58% of this CPU's bf16 peak, where its
// forward and backward-data primitives reach ~83%; the weight gradient was a third of the bf16
// step. Here, for each tap, dW[tap] (in_c x out_c) = X_tap^T DY is a sum over samples and output
// positions, and vdpbf16ps sums two samples at once: the operands are packed so that each 32-bit
// lane holds the same element of two samples (an odd batch chunk's last sample paired with
// zeros). Products of bfloat16 numbers are exact in float32; they are summed in float32, as
// oneDNN's kernel does, in another order.
#pragma once

#include <cstdint>

#include "backends/backend.h"

namespace kerosene::backends::cpu {

/// Whether conv_weights_grad_bf16 handles this shape: stride 1, no dilation, one group, out_c a
/// multiple of 16, any padding; and whether this CPU has AVX512-BF16.
bool conv_weights_grad_bf16_fits(const Conv2DParams& p);

/// dw (HWIO) and db (when non-null) for a batch chunk from bfloat16 x and dy (NHWC, as
/// OneDnn::rounded makes them); overwrites them. db sums the bfloat16 dy in float32.
void conv_weights_grad_bf16(const Conv2DParams& p, const uint16_t* x, const uint16_t* dy, float* dw, float* db);

}  // namespace kerosene::backends::cpu
