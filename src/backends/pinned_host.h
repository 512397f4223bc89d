// Pinned (page-locked) host memory and the copies from it: what a device whose memory the host
// cannot address offers so that batches are gathered straight into memory its copy engine reads,
// instead of into ordinary memory and again into a staging buffer (Backend::pinned_host()).
#pragma once

#include <cstddef>

namespace kerosene::backends {

class PinnedHost {
 public:
  virtual ~PinnedHost() = default;
  /// Null when no pinned memory can be had (it is limited): the caller copies the slow way.
  virtual void* allocate_pinned(size_t bytes) = 0;
  virtual void free_pinned(void* ptr) = 0;
  /// Queues dst (device) <- src (pinned) after the work queued so far and returns at once.
  /// `fence` (null at first; made here, then reused) marks the copy's end: src must not be
  /// written before wait_fence(fence) returns.
  virtual void copy_from_pinned(void* dst, const void* src, size_t bytes, void*& fence) = 0;
  virtual void wait_fence(void* fence) = 0;
  virtual void destroy_fence(void* fence) = 0;
};

}  // namespace kerosene::backends
