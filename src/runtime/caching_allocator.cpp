// CachingAllocator: see caching_allocator.h for the design (segments, best fit, limits).
#include "runtime/caching_allocator.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>

#include "kerosene/error.h"

namespace kerosene::runtime {

namespace {

constexpr size_t kMiB = size_t{1} << 20;
// Requests up to kSmallRequest share kSegmentGranularity segments; larger ones get a segment
// rounded up to a multiple of it. 2 MiB is the CUDA driver's own allocation granularity, so
// smaller segments would not save device memory, and small tensors rarely each cost a
// cudaMalloc (which synchronizes the device).
constexpr size_t kSmallRequest = 1 * kMiB;
constexpr size_t kSegmentGranularity = 2 * kMiB;
// Larger requests can never be served; refusing them up front keeps every rounding below free
// of overflow.
constexpr size_t kMaxRequest = std::numeric_limits<size_t>::max() / 2;

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

std::string format_bytes(size_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + (bytes == 1 ? " byte" : " bytes");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double value = static_cast<double>(bytes);
  int unit = -1;
  while (value >= 1024 && unit < 5) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f %s", value, kUnits[unit]);
  return text;
}

std::string format_address(const void* ptr) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", ptr);
  return text;
}

}  // namespace

// A contiguous range of one segment, either handed out or free. The blocks of a segment form a
// doubly linked list in address order, so neighbours are found in O(1) when coalescing.
struct CachingAllocator::Block {
  char* ptr;
  size_t size;
  bool free;
  Block* prev;  // nullptr: first block of its segment
  Block* next;
};

bool CachingAllocator::BySizeThenAddress::operator()(const Block* a, const Block* b) const {
  if (a->size != b->size) return a->size < b->size;
  return std::less<const char*>()(a->ptr, b->ptr);
}
bool CachingAllocator::BySizeThenAddress::operator()(const Block* a, size_t size) const {
  return a->size < size;
}
bool CachingAllocator::BySizeThenAddress::operator()(size_t size, const Block* b) const {
  return size < b->size;
}

CachingAllocator::CachingAllocator(NativeAllocator native, AllocatorOptions options)
    : native_(std::move(native)), options_(std::move(options)) {
  const std::string& device = options_.device_name;
  if (!native_.allocate || !native_.deallocate) {
    throw ValueError("The caching allocator of " + device +
                     " needs both a native allocate and a native deallocate function.");
  }
  if (!std::has_single_bit(options_.alignment) || options_.alignment > kMaxRequest) {
    throw ValueError("The caching allocator of " + device +
                     " needs an alignment that is a power of two; got " +
                     std::to_string(options_.alignment) + ".");
  }
  stats_.limit = options_.memory_limit;
  if (options_.allow_growth || options_.preallocate_bytes == 0) return;

  const size_t limit = options_.memory_limit;
  const size_t bytes = round_up(std::min(options_.preallocate_bytes, kMaxRequest),
                                options_.alignment);
  if (limit != 0 && bytes > limit) {
    throw ValueError("Cannot pre-allocate " + format_bytes(bytes) + " on " + device +
                     ": that exceeds its memory_limit of " + format_bytes(limit) +
                     ". Pre-allocate less or raise the limit.");
  }
  Block* block = add_segment(bytes);
  if (block == nullptr) {
    throw ResourceExhaustedError("Cannot pre-allocate " + format_bytes(bytes) + " on " + device +
                                 ": the device does not have that much free memory. Pre-allocate "
                                 "a smaller fraction, or enable memory growth.");
  }
  preallocated_ = block->ptr;
}

CachingAllocator::~CachingAllocator() {
  // Blocks still handed out are returned too: tensors must not outlive their allocator.
  for (auto& [start, head] : segments_) {
    for (Block* block = head; block != nullptr;) {
      Block* next = block->next;
      delete block;
      block = next;
    }
    native_.deallocate(start);
  }
}

void* CachingAllocator::allocate(size_t bytes) {
  std::lock_guard lock(mutex_);
  if (bytes > kMaxRequest) {
    ++stats_.num_ooms;
    throw_out_of_memory(bytes);
  }
  // A zero-byte request still gets a unique pointer, as malloc(0) and cudaMalloc callers expect.
  const size_t size = bytes == 0 ? options_.alignment : round_up(bytes, options_.alignment);
  Block* block = find_free_block(size);
  if (block == nullptr) {
    block = reserve_segment(size);
    // Cached segments count against the limit and occupy the device; returning them may make
    // room for one large enough. Only worth a second try if something was returned.
    if (block == nullptr && release_free_segments() > 0) block = reserve_segment(size);
    if (block == nullptr) {
      ++stats_.num_ooms;
      throw_out_of_memory(bytes);
    }
    ++stats_.num_native_allocs;
  }
  free_blocks_.erase(block);
  split(block, size);
  block->free = false;
  used_blocks_.emplace(block->ptr, block);
  stats_.current += block->size;
  stats_.peak = std::max(stats_.peak, stats_.current);
  ++stats_.num_allocs;
  return block->ptr;
}

void CachingAllocator::deallocate(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard lock(mutex_);
  auto it = used_blocks_.find(ptr);
  if (it == used_blocks_.end()) {
    throw RuntimeError("Cannot free " + format_address(ptr) + " on " + options_.device_name +
                       ": it was not allocated by this allocator, or it was already freed "
                       "(double free).");
  }
  Block* block = it->second;
  used_blocks_.erase(it);
  stats_.current -= block->size;
  block->free = true;
  free_blocks_.insert(coalesce(block));
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mutex_);
  release_free_segments();
}

MemoryInfo CachingAllocator::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mutex_);
  stats_.peak = stats_.current;
}

CachingAllocator::Block* CachingAllocator::find_free_block(size_t size) {
  auto it = free_blocks_.lower_bound(size);
  return it == free_blocks_.end() ? nullptr : *it;
}

// Returns a new free block of at least `size` bytes, or nullptr when the memory_limit or the
// device forbids it.
CachingAllocator::Block* CachingAllocator::reserve_segment(size_t size) {
  size_t segment = size <= kSmallRequest ? kSegmentGranularity
                                         : round_up(size, kSegmentGranularity);
  segment = round_up(segment, options_.alignment);
  if (options_.memory_limit != 0) {
    size_t headroom = options_.memory_limit - std::min(options_.memory_limit, stats_.reserved);
    headroom -= headroom % options_.alignment;
    if (size > headroom) return nullptr;
    segment = std::min(segment, headroom);  // near the limit, a smaller segment still serves
  }
  Block* block = add_segment(segment);
  // A nearly full device may still hold the request itself, though not the rounded segment.
  if (block == nullptr && segment > size) block = add_segment(size);
  return block;
}

CachingAllocator::Block* CachingAllocator::add_segment(size_t bytes) {
  void* ptr = native_.allocate(bytes);
  if (ptr == nullptr) return nullptr;
  if (reinterpret_cast<uintptr_t>(ptr) % options_.alignment != 0) {
    native_.deallocate(ptr);
    throw RuntimeError("The native allocator of " + options_.device_name + " returned " +
                       format_address(ptr) + ", which is not aligned to " +
                       std::to_string(options_.alignment) +
                       " bytes; it must return memory aligned to AllocatorOptions::alignment.");
  }
  auto* block = new Block{static_cast<char*>(ptr), bytes, true, nullptr, nullptr};
  segments_.emplace(ptr, block);
  free_blocks_.insert(block);
  stats_.reserved += bytes;
  return block;
}

// Cuts `block` (not in free_blocks_) to `size` bytes; the rest becomes a free block after it.
void CachingAllocator::split(Block* block, size_t size) {
  const size_t rest = block->size - size;
  // A remainder smaller than the alignment could serve no request; it stays with the block.
  if (rest < options_.alignment) return;
  auto* tail = new Block{block->ptr + size, rest, true, block, block->next};
  if (block->next != nullptr) block->next->prev = tail;
  block->next = tail;
  block->size = size;
  free_blocks_.insert(tail);
}

// Merges the free `block` (not in free_blocks_) with its free neighbours; returns the result.
// A segment's first block keeps its address, so segments_ stays valid.
CachingAllocator::Block* CachingAllocator::coalesce(Block* block) {
  if (Block* next = block->next; next != nullptr && next->free) {
    free_blocks_.erase(next);
    block->size += next->size;
    block->next = next->next;
    if (block->next != nullptr) block->next->prev = block;
    delete next;
  }
  if (Block* prev = block->prev; prev != nullptr && prev->free) {
    free_blocks_.erase(prev);
    prev->size += block->size;
    prev->next = block->next;
    if (prev->next != nullptr) prev->next->prev = prev;
    delete block;
    block = prev;
  }
  return block;
}

// Returns every fully free segment except the pre-allocated one; returns how many.
size_t CachingAllocator::release_free_segments() {
  size_t released = 0;
  for (auto it = segments_.begin(); it != segments_.end();) {
    Block* head = it->second;
    if (!head->free || head->next != nullptr || head->ptr == preallocated_) {
      ++it;
      continue;
    }
    free_blocks_.erase(head);
    stats_.reserved -= head->size;
    native_.deallocate(head->ptr);
    delete head;
    it = segments_.erase(it);
    ++released;
  }
  return released;
}

void CachingAllocator::throw_out_of_memory(size_t requested) {
  const size_t limit = options_.memory_limit;
  const size_t size = round_up(std::min(requested, kMaxRequest), options_.alignment);
  const bool over_limit = limit != 0 && size > limit - std::min(limit, stats_.reserved);
  std::string message = "Out of memory on " + options_.device_name + " while allocating " +
                        format_bytes(requested) + ": " + format_bytes(stats_.current) +
                        " in use, " + format_bytes(stats_.reserved) + " reserved (" +
                        format_bytes(stats_.reserved - stats_.current) + " cached)";
  if (limit != 0) message += ", memory_limit " + format_bytes(limit);
  message += over_limit ? "; the request would exceed the memory_limit."
                        : "; the device does not have that much free memory left.";
  if (limit != 0) {
    message += " To fix: reduce the batch size, raise the memory_limit, or call empty_cache() "
               "to return cached memory to the device.";
  } else {
    message += " To fix: reduce the batch size, set a memory_limit / enable memory growth for "
               "other processes and logical devices sharing this device, or call empty_cache() "
               "to return cached memory to the device.";
  }
  throw ResourceExhaustedError(message);
}

}  // namespace kerosene::runtime
