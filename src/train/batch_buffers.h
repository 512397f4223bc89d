// A batch of rows gathered from a dataset into a device's buffers (reused from step to step).
#pragma once

#include <cstdint>

#include "kerosene/tensor.h"
#include "train/pinned_staging.h"

namespace kerosene::train {

struct BatchBuffers {
  Tensor x, y, x_host, y_host;
  /// For a device with pinned host memory (a GPU): batches are gathered straight into it.
  PinnedStaging x_pinned, y_pinned;
  /// Rows `rows[0..n)` of xs (and ys) into x (and y) on `device`. For a device the host cannot
  /// address, rows are gathered straight into pinned host memory (two buffers in turn) and the
  /// copy is queued without waiting, so the next batch is assembled while the device still
  /// works on this one; where pinned memory cannot be had, into x_host/y_host and copied over.
  void load(const Device& device, const Tensor& xs, const Tensor* ys, const int64_t* rows, int64_t n);
};

}  // namespace kerosene::train
