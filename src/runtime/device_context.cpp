#include "runtime/device_context.h"

#include "kerosene/error.h"
#include "runtime/storage.h"

namespace kerosene::runtime {

Storage::Storage(DeviceContext* ctx, size_t n) : context(ctx), data(nullptr), bytes(n) {
  data = context->allocator().allocate(n);
}

Storage::~Storage() { context->allocator().deallocate(data); }

DeviceContext::DeviceContext(Device device, config::PhysicalDevice physical, backends::Backend& backend,
                             AllocatorOptions options, int device_index)
    : device_(device),
      physical_(std::move(physical)),
      backend_(backend),
      allocator_(backend.native_allocator(device_index), std::move(options)) {}

WorkerThread& DeviceContext::worker() {
  std::call_once(worker_once_, [this] { worker_ = std::make_unique<WorkerThread>(); });
  return *worker_;
}

}  // namespace kerosene::runtime
