// The weight gradient of a convolution on one input channel (the first layer of an MNIST or
// other grayscale model: 3x3 or 5x5, no padding), computed directly.
//
// Why: oneDNN 2.6's jit:avx2 backward-weights kernel runs such layers at ~16 GFLOP/s (0.76 ms
// per step for the MNIST CNN's first layer); with one accumulator register per tap and 8
// filters at a time, this loop is a stream of FMAs. An im2col + matmul form was slower still.
// Other shapes go to oneDNN.
#pragma once

#include "backends/backend.h"

namespace kerosene::backends::cpu {

/// Whether conv_weights_grad_direct handles this shape.
bool conv_weights_grad_direct_fits(const Conv2DParams& p);

/// dw (HWIO) and db (when non-null) for a batch chunk; overwrites them.
void conv_weights_grad_direct(const Conv2DParams& p, const float* x, const float* dy, float* dw, float* db);

}  // namespace kerosene::backends::cpu
