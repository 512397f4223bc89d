// Storage: one allocation from a logical device's caching allocator, shared by tensor views.
#pragma once

#include <cstddef>

namespace kerosene::runtime {

class DeviceContext;

struct Storage {
  Storage(DeviceContext* context, size_t bytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  DeviceContext* context;
  void* data;
  size_t bytes;
};

}  // namespace kerosene::runtime
