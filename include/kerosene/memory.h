// Memory statistics of a logical device's caching allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kerosene {

/// What TensorFlow's get_memory_info returns (current, peak), plus what the allocator holds.
struct MemoryInfo {
  size_t current = 0;    ///< bytes handed out to live tensors
  size_t peak = 0;       ///< highest `current` since start or the last reset
  size_t reserved = 0;   ///< bytes obtained from the device (in use + cached)
  size_t limit = 0;      ///< hard cap in bytes; 0 means no cap
  uint64_t num_allocs = 0;       ///< allocations served since start
  uint64_t num_native_allocs = 0;  ///< of those, how many had to ask the device
  uint64_t num_ooms = 0;         ///< out-of-memory errors raised
};

}  // namespace kerosene
