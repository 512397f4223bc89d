#include "backends/cuda_plugin/scratch_memory.h"

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "runtime/device_context.h"

namespace kerosene::backends::cuda_plugin {

void* serve_scratch(runtime::CachingAllocator* allocator, int device, size_t bytes, char* error, size_t error_size) {
  try {
    if (!allocator) {
      throw std::runtime_error("no logical device uses CUDA device " + std::to_string(device));
    }
    return allocator->allocate(bytes);
  } catch (const std::exception& e) {
    if (error && error_size) std::snprintf(error, error_size, "%s", e.what());
    return nullptr;
  }
}

void return_scratch(runtime::CachingAllocator* allocator, void* ptr) {
  try {
    if (allocator) allocator->deallocate(ptr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kerosene: returning the CUDA plugin's scratch memory failed: %s\n", e.what());
  }
}

void* scratch_allocate(int device, size_t bytes, char* error, size_t error_size) {
  return serve_scratch(runtime::Registry::instance().scratch_allocator(device), device, bytes, error, error_size);
}

void scratch_free(int device, void* ptr) { return_scratch(runtime::Registry::instance().scratch_allocator(device), ptr); }

}  // namespace kerosene::backends::cuda_plugin
