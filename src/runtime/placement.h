// Placement switches and their log lines: tf.debugging.set_log_device_placement and
// tf.config.set_soft_device_placement. Checked on every op, so they are plain atomics.
#pragma once

#include <atomic>
#include <string>

#include "kerosene/device.h"
#include "kerosene/tensor.h"

namespace kerosene::runtime {

extern std::atomic<bool> g_log_device_placement;
extern std::atomic<bool> g_soft_device_placement;

inline bool log_device_placement() { return g_log_device_placement.load(std::memory_order_relaxed); }
inline bool soft_device_placement() { return g_soft_device_placement.load(std::memory_order_relaxed); }

/// "Executing op matmul in device /job:localhost/replica:0/task:0/device:GPU:0" on stderr.
void log_op_placement(const char* op, const Device& device);
/// "Copying tensor of shape (32, 784) (float32, 100352 bytes) from ... to ..." on stderr.
void log_copy(const Tensor& from, const Device& to);
/// The same for host memory that is not a tensor (a pinned batch buffer).
void log_copy(const Shape& shape, DType dtype, size_t bytes, const Device& from, const Device& to);
/// A warning line on stderr, prefixed "kerosene: warning: ".
void warn(const std::string& message);

}  // namespace kerosene::runtime
