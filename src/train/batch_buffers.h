// A batch of rows gathered from a dataset into a device's buffers (reused from step to step):
// one tensor per model input (x) and per model output's targets (y).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "kerosene/tensor.h"
#include "train/pinned_staging.h"

namespace kerosene::train {

struct BatchBuffers {
  std::vector<Tensor> x, y;  // on the device: what the step reads
  /// Rows `rows[0..n)` of each of xs (and ys) into x (and y) on `device`. For a device the host
  /// cannot address, rows are gathered straight into pinned host memory (two buffers in turn)
  /// and the copy is queued without waiting, so the next batch is assembled while the device
  /// still works on this one; where pinned memory cannot be had, through a host tensor.
  void load(const Device& device, const std::vector<Tensor>& xs, const std::vector<Tensor>* ys, const int64_t* rows,
            int64_t n);

 private:
  /// Where one stream of batches passes through the host on its way to the device.
  struct Staging {
    Tensor host;
    PinnedStaging pinned;
  };
  std::vector<std::unique_ptr<Staging>> x_staging_, y_staging_;
};

}  // namespace kerosene::train
