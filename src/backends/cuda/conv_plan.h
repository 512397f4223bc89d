// A convolution's cuDNN descriptors and algorithm choices, made once per shape and cached in the
// device's state. Keras paddings can be asymmetric ('same' with an even kernel or a stride puts
// the extra row at the bottom); cuDNN's descriptor pads both sides alike, so such a plan pads the
// input explicitly (PadShape) and gives cuDNN a padding of zero. A plan is per shape and
// ComputeMode: under 16-bit compute x, w and y are cuDNN bfloat16/half tensors with a float32
// compute type (cuDNN's PSEUDO_BFLOAT16 / PSEUDO_HALF configurations, which write y in 16 bits);
// tensor-op math and algorithms are allowed then, and for float32 when TF32 is; otherwise FMA
// math only, so float32 stays float32.
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "backends/cuda/algorithm_choice.h"
#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/plugin_api.h"
#include "backends/kernel_params.h"

namespace kerosene::backends::cuda_impl {

/// run_conv()'s answer when cuDNN cannot do the convolution: the caller runs the direct kernels
/// of kernels.h instead. Internal to the plugin: never returned to the core.
inline constexpr int kNoAlgorithm = 100;

struct ConvPlan {
  bool direct = false;  ///< cuDNN cannot describe this shape (a dimension beyond int): direct kernels
  bool padded = false;  ///< cuDNN sees the explicitly padded input `pad` describes
  PadShape pad{};
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;  ///< NHWC; x is the padded input when padded
  cudnnFilterDescriptor_t w = nullptr;               ///< KRSC (out_c, kh, kw, in_c / groups)
  cudnnConvolutionDescriptor_t conv = nullptr;       ///< cross-correlation, float32 compute type
  ComputePrecision precision = ComputePrecision::float32;  ///< the type of x, w and y
  bool tensor_ops = false;  ///< tensor-op math (16-bit, or TF32 allowed); else FMA math
  AlgorithmChoice forward, backward_data, backward_filter;
  std::string label;  ///< the shape, for the log: "conv2d 32x28x28x1 k3x3 s1x1 -> 32"
};

enum class ConvDirection { forward, backward_data, backward_filter };

/// Returns kNoAlgorithm, logging once per plan, direction and reason that the direct kernels
/// run instead of cuDNN: no fallback is silent.
int fall_back(ConvPlan& plan, ConvDirection direction, const std::string& reason);

/// Caller holds state.mutex and has made state.dnn. The plan for `p` in `mode` (made on first use).
int conv_plan(DeviceState& state, const Conv2DParams& p, cuda_abi::ComputeMode mode, ConvPlan** plan);

/// Caller holds state.mutex. Tries the direction's algorithms in order until one runs:
/// `workspace_size(algo, &bytes)` and `execute(algo, workspace, bytes)` return cuDNN statuses.
/// AlgorithmChoice decides what is skipped and for how long; when none runs the answer is
/// kNoAlgorithm, logged once per reason (fall_back).
int run_conv(DeviceState& state, ConvPlan& plan, ConvDirection direction,
             const std::function<cudnnStatus_t(int, size_t*)>& workspace_size,
             const std::function<cudnnStatus_t(int, void*, size_t)>& execute);

}  // namespace kerosene::backends::cuda_impl
