// CachingAllocator: a best-fit allocator with block splitting and coalescing that caches
// device memory, in the spirit of TensorFlow's BFC allocator and PyTorch's caching allocator.
//
// The device's own allocate/free are injected (NativeAllocator), so exactly the code that
// serves GPUs is tested on the CPU, including a simulated device of a given size.
//
// Memory is obtained from the device in segments (one native allocation each) and carved into
// blocks. Segment granularity: a request of at most 1 MiB is served from a 2 MiB segment, so
// small tensors share segments; a larger request gets a segment rounded up to a multiple of
// 2 MiB. A segment never takes reserved memory beyond `memory_limit`: near the limit it shrinks
// to what is left (but at least the request).
//
// Thread-safe: one mutex; allocate/deallocate are O(log n) in the number of cached blocks.
//
// Lifetime: the destructor returns every segment to the device, even ones holding blocks still
// handed out, so no tensor may outlive the allocator that served it.
#pragma once

#include <cstddef>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "kerosene/memory.h"

namespace kerosene::runtime {

/// The device's raw memory functions. `allocate` returns nullptr when the device is out of
/// memory; every pointer it returns must be aligned to AllocatorOptions::alignment
/// (cudaMalloc guarantees 256 bytes).
struct NativeAllocator {
  std::function<void*(size_t)> allocate;
  std::function<void(void*)> deallocate;
};

struct AllocatorOptions {
  std::string device_name = "/device:CPU:0";  ///< named in error messages
  size_t memory_limit = 0;     ///< hard cap on reserved bytes; 0: none
  /// false: reserve `preallocate_bytes` in one segment at construction and serve from it first;
  /// the allocator may still grow beyond it, up to `memory_limit`, as TensorFlow does.
  /// That segment is kept until destruction (empty_cache never releases it).
  /// true: `preallocate_bytes` is ignored.
  bool allow_growth = true;
  size_t preallocate_bytes = 0;
  size_t alignment = 256;      ///< every block starts at a multiple of this; a power of two
};

class CachingAllocator {
 public:
  /// Requires `native.allocate` and `native.deallocate` to be set, `alignment` to be a power of
  /// two, and `preallocate_bytes <= memory_limit` when both are used; throws ValueError if not.
  /// Throws ResourceExhaustedError if the pre-allocation cannot be obtained.
  CachingAllocator(NativeAllocator native, AllocatorOptions options);
  /// Returns every segment to the device, including blocks still handed out.
  ~CachingAllocator();
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  /// Returns `bytes` (rounded up to the alignment; 0 is served as one unit) of memory.
  /// Throws ResourceExhaustedError naming the device, the request, memory in use, reserved and
  /// cached, and what to change, when neither the cache nor the device can serve it (after
  /// one retry with the cache emptied). Throws RuntimeError if the device returns a pointer
  /// that is not aligned.
  void* allocate(size_t bytes);
  /// Returns a block to the cache; nullptr is a no-op. Throws RuntimeError for a pointer it did
  /// not hand out or that was already freed.
  void deallocate(void* ptr);

  /// Returns every fully free segment to the device, except the pre-allocated one.
  void empty_cache();
  /// `num_native_allocs` counts allocations that had to reserve a new segment; the
  /// pre-allocation at construction is not one of them.
  MemoryInfo stats() const;
  /// Sets `peak` to `current`.
  void reset_peak();
  const AllocatorOptions& options() const { return options_; }

 private:
  struct Block;
  // Orders free blocks by (size, address): lower_bound(size) gives the best fit, and among
  // equal sizes the lowest address, which keeps placement deterministic.
  struct BySizeThenAddress {
    using is_transparent = void;
    bool operator()(const Block* a, const Block* b) const;
    bool operator()(const Block* a, size_t size) const;
    bool operator()(size_t size, const Block* b) const;
  };

  Block* find_free_block(size_t size);
  Block* reserve_segment(size_t size);
  Block* add_segment(size_t bytes);
  void split(Block* block, size_t size);
  Block* coalesce(Block* block);
  size_t release_free_segments();
  [[noreturn]] void throw_out_of_memory(size_t requested);

  NativeAllocator native_;
  AllocatorOptions options_;
  mutable std::mutex mutex_;
  std::set<Block*, BySizeThenAddress> free_blocks_;
  std::unordered_map<void*, Block*> used_blocks_;
  std::unordered_map<void*, Block*> segments_;  // segment start -> first block
  void* preallocated_ = nullptr;                // kept by empty_cache
  MemoryInfo stats_;
};

}  // namespace kerosene::runtime
