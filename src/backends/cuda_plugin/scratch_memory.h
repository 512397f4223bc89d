// The CUDA plugin's scratch memory (workspaces, padded copies, partial sums) served by the
// core's caching allocator (cuda_abi::InitOptions::scratch_allocate), so that it counts in the
// device's memory statistics and against its memory limit like any tensor. A GPU split into
// logical devices has one plugin state, so its scratch is charged to its first logical device.
#pragma once

#include <cstddef>

#include "runtime/caching_allocator.h"

namespace kerosene::backends::cuda_plugin {

/// A block of `bytes` from `allocator`, or null with the reason (the allocator's error, which
/// names the device, the limit and what is in use) in `error`. Never throws: it is called from
/// the plugin, across a C boundary.
void* serve_scratch(runtime::CachingAllocator* allocator, int device, size_t bytes, char* error, size_t error_size);
/// Returns a block served by serve_scratch; never throws.
void return_scratch(runtime::CachingAllocator* allocator, void* ptr);

/// The callbacks given to the plugin: the allocator of the first logical device of CUDA device
/// `device`.
void* scratch_allocate(int device, size_t bytes, char* error, size_t error_size);
void scratch_free(int device, void* ptr);

}  // namespace kerosene::backends::cuda_plugin
