// A batch of rows gathered from a dataset into a device's buffers (reused from step to step).
#pragma once

#include <cstdint>

#include "kerosene/tensor.h"

namespace kerosene::train {

struct BatchBuffers {
  Tensor x, y, x_host, y_host;
  /// Rows `rows[0..n)` of xs (and ys) into x (and y) on `device`. For a device the host cannot
  /// address, rows are gathered into host buffers and copied over; the CUDA backend stages
  /// that copy through pinned memory and returns before it completes, so the next batch is
  /// assembled while the device still works on this one.
  void load(const Device& device, const Tensor& xs, const Tensor* ys, const int64_t* rows, int64_t n);
};

}  // namespace kerosene::train
