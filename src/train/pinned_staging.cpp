#include "train/pinned_staging.h"

namespace kerosene::train {

PinnedStaging::~PinnedStaging() {
  try {
    release();
  } catch (...) {
    // A destructor must not throw; a device that failed has said so on the call that failed.
  }
}

void PinnedStaging::release() {
  if (!host_) return;
  for (Slot& slot : slots_) {
    if (slot.fence) {
      host_->wait_fence(slot.fence);  // a queued copy still reads the buffer
      host_->destroy_fence(slot.fence);
    }
    if (slot.ptr) host_->free_pinned(slot.ptr);
    slot = Slot{};
  }
}

void* PinnedStaging::next(backends::PinnedHost& host, size_t bytes) {
  if (host_ != &host) {  // another device's memory: start over
    release();
    host_ = &host;
  }
  current_ = 1 - current_;
  Slot& slot = slots_[current_];
  if (slot.fence) host.wait_fence(slot.fence);
  if (slot.bytes < bytes) {
    if (slot.ptr) host.free_pinned(slot.ptr);
    slot.ptr = host.allocate_pinned(bytes);
    slot.bytes = slot.ptr ? bytes : 0;
  }
  return slot.ptr;
}

void PinnedStaging::copy(void* dst, size_t bytes) {
  Slot& slot = slots_[current_];
  host_->copy_from_pinned(dst, slot.ptr, bytes, slot.fence);
}

}  // namespace kerosene::train
