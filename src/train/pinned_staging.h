// Two pinned host buffers used in turn for one stream of batches (a model's x, or its y): the
// host gathers batch n+1 into one while the copy of batch n from the other may still be queued
// behind the device's kernels. A buffer is rewritten only after its previous copy has left it.
#pragma once

#include <cstddef>

#include "backends/pinned_host.h"

namespace kerosene::train {

class PinnedStaging {
 public:
  PinnedStaging() = default;
  ~PinnedStaging();
  PinnedStaging(const PinnedStaging&) = delete;
  PinnedStaging& operator=(const PinnedStaging&) = delete;

  /// A pinned buffer of at least `bytes` to gather the next batch into, once the copy that last
  /// read it is done; null when pinned memory cannot be had (copy through copy_from_host then).
  void* next(backends::PinnedHost& host, size_t bytes);
  /// Queues the copy of the buffer `next` returned (its first `bytes`) to `dst` on the device.
  void copy(void* dst, size_t bytes);

 private:
  struct Slot {
    void* ptr = nullptr;
    size_t bytes = 0;
    void* fence = nullptr;
  };
  void release();

  backends::PinnedHost* host_ = nullptr;
  Slot slots_[2];
  int current_ = 1;  // next() takes slot 0 first
};

}  // namespace kerosene::train
