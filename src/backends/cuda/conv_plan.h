// A convolution's cuDNN descriptors and algorithm choices, made once per shape and cached in the
// device's state. Keras paddings can be asymmetric ('same' with an even kernel or a stride puts
// the extra row at the bottom); cuDNN's descriptor pads both sides alike, so such a plan pads the
// input explicitly (PadShape) and gives cuDNN a padding of zero.
#pragma once

#include <cudnn.h>

#include <cstddef>
#include <functional>
#include <vector>

#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/kernel_params.h"

namespace kerosene::backends::cuda_impl {

/// run_conv()'s answer when cuDNN cannot do the convolution: the caller runs the direct kernels
/// of kernels.h instead. Internal to the plugin: never returned to the core.
inline constexpr int kNoAlgorithm = 100;

/// Algorithms worth trying for one direction, best first; `next` skips those that failed.
struct ConvAlgorithms {
  bool ranked = false;
  bool unsupported = false;  ///< every algorithm failed for a reason other than memory
  std::vector<int> algos;
  size_t next = 0;
};

struct ConvPlan {
  bool direct = false;  ///< cuDNN cannot describe this shape (a dimension beyond int): direct kernels
  bool padded = false;  ///< cuDNN sees the explicitly padded input `pad` describes
  PadShape pad{};
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;  ///< NHWC; x is the padded input when padded
  cudnnFilterDescriptor_t w = nullptr;               ///< KRSC (out_c, kh, kw, in_c)
  cudnnConvolutionDescriptor_t conv = nullptr;       ///< cross-correlation, fp32, FMA math (no TF32)
  ConvAlgorithms forward, backward_data, backward_filter;
};

enum class ConvDirection { forward, backward_data, backward_filter };

/// Caller holds state.mutex and has made state.dnn. The plan for `p` (made on first use).
int conv_plan(DeviceState& state, const Conv2DParams& p, ConvPlan** plan);

/// Caller holds state.mutex. Tries the direction's algorithms in order until one runs:
/// `workspace_size(algo, &bytes)` and `execute(algo, workspace, bytes)` return cuDNN statuses.
/// An algorithm cuDNN does not support here, or whose workspace cannot be had, is skipped; when
/// none is left the answer is kNoAlgorithm (and stays so unless memory was the reason).
int run_conv(DeviceState& state, ConvPlan& plan, ConvDirection direction,
             const std::function<cudnnStatus_t(int, size_t*)>& workspace_size,
             const std::function<cudnnStatus_t(int, void*, size_t)>& execute);

}  // namespace kerosene::backends::cuda_impl
