// Whether float32 matmuls and convolutions on a GPU may use TensorFloat-32 now: the user's
// setting (config::experimental::enable_tensor_float_32_execution) unless NVIDIA_TF32_OVERRIDE=0.
#pragma once

namespace kerosene::runtime {

/// config::experimental::tensor_float_32_execution_enabled(), and not NVIDIA_TF32_OVERRIDE=0
/// (NVIDIA's switch for turning TF32 off everywhere, read once, at the first call).
bool tensor_float_32_in_effect();

}  // namespace kerosene::runtime
