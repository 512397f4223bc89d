// Tests of CachingAllocator on a simulated device: a fixed arena with a first-fit native
// allocator that returns nullptr when full and counts its calls.
//
// Build and run (from the repository root), on one line:
//   g++ -std=c++20 -O1 -g -fsanitize=address,undefined -Iinclude -Isrc
//     src/runtime/caching_allocator.cpp tests/runtime/caching_allocator_test.cpp
//     -lgtest -lgtest_main -pthread && ./a.out
#include "runtime/caching_allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <latch>
#include <random>
#include <thread>
#include <vector>

#include "kerosene/error.h"

namespace kerosene::runtime {
namespace {

constexpr size_t kKiB = size_t{1} << 10;
constexpr size_t kMiB = size_t{1} << 20;

// A device of `capacity` bytes. Native allocations are placed first-fit at 4096-byte offsets
// (cudaMalloc gives 256), optionally shifted by `misalign` to simulate a broken backend.
class SimulatedDevice {
 public:
  explicit SimulatedDevice(size_t capacity, size_t misalign = 0)
      : storage_(capacity + kPage + misalign), capacity_(capacity), misalign_(misalign) {
    const auto address = reinterpret_cast<uintptr_t>(storage_.data());
    base_ = storage_.data() + (kPage - address % kPage) % kPage;
  }

  NativeAllocator native() {
    return {[this](size_t bytes) { return allocate(bytes); },
            [this](void* ptr) { deallocate(ptr); }};
  }

  void* allocate(size_t bytes) {
    ++allocate_calls;
    largest_request = std::max(largest_request, bytes);
    if (bytes > capacity_) return nullptr;
    const size_t need = (bytes + kPage - 1) / kPage * kPage;
    size_t offset = 0;
    for (const auto& [start, size] : live_) {
      if (start - offset >= need) break;
      offset = start + size;
    }
    if (offset + need > capacity_) return nullptr;
    live_.emplace(offset, need);
    return base_ + offset + misalign_;
  }

  void deallocate(void* ptr) {
    ++deallocate_calls;
    const auto offset = static_cast<size_t>(static_cast<std::byte*>(ptr) - base_) - misalign_;
    if (live_.erase(offset) == 0) ADD_FAILURE() << "native deallocate of an unknown pointer";
  }

  size_t live_segments() const { return live_.size(); }
  bool contains(const void* ptr, size_t bytes) const {
    const auto* p = static_cast<const std::byte*>(ptr);
    return p >= base_ && p + bytes <= base_ + capacity_;
  }

  size_t allocate_calls = 0;
  size_t deallocate_calls = 0;
  size_t largest_request = 0;

 private:
  static constexpr size_t kPage = 4096;
  std::vector<std::byte> storage_;
  std::byte* base_;
  size_t capacity_;
  size_t misalign_;
  std::map<size_t, size_t> live_;  // offset -> size
};

AllocatorOptions gpu_options(size_t memory_limit = 0) {
  AllocatorOptions options;
  options.device_name = "/device:GPU:0";
  options.memory_limit = memory_limit;
  return options;
}

char* as_bytes(void* ptr) { return static_cast<char*>(ptr); }

TEST(CachingAllocator, ReusesFreedBlockWithoutNativeAllocation) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* first = allocator.allocate(3 * kMiB);
  allocator.deallocate(first);
  void* second = allocator.allocate(3 * kMiB);
  EXPECT_EQ(second, first);
  EXPECT_EQ(device.allocate_calls, 1u);
  EXPECT_EQ(allocator.stats().num_native_allocs, 1u);
  EXPECT_EQ(allocator.stats().num_allocs, 2u);
  allocator.deallocate(second);
}

TEST(CachingAllocator, SmallRequestsShareOneSegment) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  std::vector<void*> blocks;
  for (int i = 0; i < 8; ++i) blocks.push_back(allocator.allocate(200 * kKiB));
  EXPECT_EQ(device.allocate_calls, 1u);
  EXPECT_EQ(allocator.stats().reserved, 2 * kMiB);
  void* large = allocator.allocate(3 * kMiB);  // rounded to a 4 MiB segment
  EXPECT_EQ(allocator.stats().reserved, 6 * kMiB);
  allocator.deallocate(large);
  for (void* block : blocks) allocator.deallocate(block);
}

TEST(CachingAllocator, BestFitPicksSmallestSufficientBlock) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* big = allocator.allocate(64 * kKiB);
  void* fence1 = allocator.allocate(4 * kKiB);
  void* medium = allocator.allocate(16 * kKiB);
  void* fence2 = allocator.allocate(4 * kKiB);
  allocator.deallocate(big);
  allocator.deallocate(medium);
  // Free: 64 KiB (lowest address), 16 KiB, and the segment's large tail. First fit would take
  // the 64 KiB block; best fit takes the 16 KiB one.
  void* fits_medium = allocator.allocate(12 * kKiB);
  EXPECT_EQ(fits_medium, medium);
  void* fits_big = allocator.allocate(60 * kKiB);
  EXPECT_EQ(fits_big, big);
  EXPECT_EQ(device.allocate_calls, 1u);
  for (void* p : {fits_medium, fits_big, fence1, fence2}) allocator.deallocate(p);
}

TEST(CachingAllocator, SplitBlocksCoalesceInEveryFreeOrder) {
  std::array<int, 3> order = {0, 1, 2};
  do {
    SimulatedDevice device(64 * kMiB);
    CachingAllocator allocator(device.native(), gpu_options());
    std::array<void*, 3> blocks = {allocator.allocate(512 * kKiB), allocator.allocate(512 * kKiB),
                                   allocator.allocate(1 * kMiB)};
    ASSERT_EQ(device.allocate_calls, 1u);  // all three split from one 2 MiB segment
    EXPECT_EQ(as_bytes(blocks[1]), as_bytes(blocks[0]) + 512 * kKiB);
    EXPECT_EQ(as_bytes(blocks[2]), as_bytes(blocks[1]) + 512 * kKiB);
    for (int i : order) allocator.deallocate(blocks[i]);
    void* whole = allocator.allocate(2 * kMiB);
    EXPECT_EQ(whole, blocks[0]) << "order " << order[0] << order[1] << order[2];
    EXPECT_EQ(device.allocate_calls, 1u) << "order " << order[0] << order[1] << order[2];
    allocator.deallocate(whole);
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(CachingAllocator, FreeBlocksSeparatedByAUsedBlockDoNotMerge) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(512 * kKiB);
  void* b = allocator.allocate(512 * kKiB);
  void* c = allocator.allocate(1 * kMiB);
  allocator.deallocate(a);
  allocator.deallocate(c);
  void* d = allocator.allocate(1536 * kKiB);  // 512 KiB + 1 MiB free, but not adjacent
  EXPECT_EQ(device.allocate_calls, 2u);
  for (void* p : {b, d}) allocator.deallocate(p);
}

TEST(CachingAllocator, EveryPointerIsAligned) {
  for (size_t alignment : {size_t{256}, size_t{4096}}) {
    SimulatedDevice device(64 * kMiB);
    AllocatorOptions options = gpu_options();
    options.alignment = alignment;
    CachingAllocator allocator(device.native(), options);
    std::mt19937 rng(7);
    std::vector<void*> blocks;
    for (int i = 0; i < 200; ++i) {
      const size_t bytes = std::uniform_int_distribution<size_t>(0, 300 * kKiB)(rng);
      void* p = allocator.allocate(bytes);
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignment, 0u) << bytes << " bytes";
      blocks.push_back(p);
      if (i % 3 == 0) {  // free some, so that later blocks come from split remainders
        allocator.deallocate(blocks[i / 2]);
        blocks[i / 2] = nullptr;
      }
    }
    for (void* p : blocks) allocator.deallocate(p);
    EXPECT_EQ(allocator.stats().current, 0u);
  }
}

TEST(CachingAllocator, StatsFollowASequence) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options(32 * kMiB));
  EXPECT_EQ(allocator.stats().limit, 32 * kMiB);
  void* a = allocator.allocate(1000);  // rounded to 1024
  MemoryInfo s = allocator.stats();
  EXPECT_EQ(s.current, 1024u);
  EXPECT_EQ(s.peak, 1024u);
  EXPECT_EQ(s.reserved, 2 * kMiB);
  EXPECT_EQ(s.num_allocs, 1u);
  EXPECT_EQ(s.num_native_allocs, 1u);
  void* b = allocator.allocate(5 * kMiB);  // a 6 MiB segment
  s = allocator.stats();
  EXPECT_EQ(s.current, 1024 + 5 * kMiB);
  EXPECT_EQ(s.peak, 1024 + 5 * kMiB);
  EXPECT_EQ(s.reserved, 8 * kMiB);
  EXPECT_EQ(s.num_allocs, 2u);
  EXPECT_EQ(s.num_native_allocs, 2u);
  allocator.deallocate(b);
  void* c = allocator.allocate(256);  // from the first segment's remainder
  s = allocator.stats();
  EXPECT_EQ(s.current, 1024u + 256u);
  EXPECT_EQ(s.peak, 1024 + 5 * kMiB);
  EXPECT_EQ(s.reserved, 8 * kMiB);
  EXPECT_EQ(s.num_allocs, 3u);
  EXPECT_EQ(s.num_native_allocs, 2u);
  EXPECT_EQ(s.num_ooms, 0u);
  allocator.deallocate(a);
  allocator.deallocate(c);
  EXPECT_EQ(allocator.stats().current, 0u);
  EXPECT_EQ(allocator.stats().reserved, 8 * kMiB);  // cached until empty_cache
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().reserved, 0u);
}

TEST(CachingAllocator, ResetPeakSetsPeakToCurrent) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(1 * kMiB);
  void* b = allocator.allocate(4 * kMiB);
  allocator.deallocate(b);
  EXPECT_EQ(allocator.stats().peak, 5 * kMiB);
  allocator.reset_peak();
  EXPECT_EQ(allocator.stats().peak, 1 * kMiB);
  void* c = allocator.allocate(2 * kMiB);
  EXPECT_EQ(allocator.stats().peak, 3 * kMiB);
  allocator.deallocate(a);
  allocator.deallocate(c);
}

TEST(CachingAllocator, ZeroByteAllocationIsOneUniqueUnit) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(0);
  void* b = allocator.allocate(0);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_NE(a, b);
  EXPECT_EQ(allocator.stats().current, 2 * allocator.options().alignment);
  allocator.deallocate(a);
  allocator.deallocate(b);
  EXPECT_EQ(allocator.stats().current, 0u);
}

TEST(CachingAllocator, MemoryLimitIsAHardCap) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options(4 * kMiB));
  void* a = allocator.allocate(3 * kMiB);
  EXPECT_EQ(allocator.stats().reserved, 4 * kMiB);
  try {
    allocator.allocate(2 * kMiB);
    FAIL() << "expected ResourceExhaustedError";
  } catch (const ResourceExhaustedError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("/device:GPU:0"), std::string::npos) << message;
    EXPECT_NE(message.find("allocating 2.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("3.0 MiB in use"), std::string::npos) << message;
    EXPECT_NE(message.find("4.0 MiB reserved"), std::string::npos) << message;
    EXPECT_NE(message.find("1.0 MiB cached"), std::string::npos) << message;
    EXPECT_NE(message.find("memory_limit 4.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("reduce the batch size"), std::string::npos) << message;
    EXPECT_NE(message.find("empty_cache()"), std::string::npos) << message;
  }
  EXPECT_THROW(allocator.allocate(256 * kMiB), ResourceExhaustedError);
  EXPECT_EQ(allocator.stats().num_ooms, 2u);
  EXPECT_LE(allocator.stats().reserved, 4 * kMiB);
  EXPECT_LE(device.largest_request, 4 * kMiB);
  // The failures left the allocator usable.
  allocator.deallocate(a);
  void* b = allocator.allocate(4 * kMiB);
  allocator.deallocate(b);
}

TEST(CachingAllocator, SegmentShrinksToFitUnderTheLimit) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options(3 * kMiB));
  void* a = allocator.allocate(2560 * kKiB);  // would round to 4 MiB; the limit leaves 3
  EXPECT_EQ(allocator.stats().reserved, 3 * kMiB);
  EXPECT_EQ(device.largest_request, 3 * kMiB);
  allocator.deallocate(a);
}

TEST(CachingAllocator, HumanReadableSizeOfALargeRequest) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options(128 * kMiB));
  try {
    allocator.allocate(256 * kMiB);
    FAIL() << "expected ResourceExhaustedError";
  } catch (const ResourceExhaustedError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("allocating 256.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("memory_limit 128.0 MiB"), std::string::npos) << message;
  }
  EXPECT_EQ(device.allocate_calls, 0u);
}

TEST(CachingAllocator, AbsurdRequestRaisesWithoutOverflow) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  EXPECT_THROW(allocator.allocate(SIZE_MAX), ResourceExhaustedError);
  EXPECT_THROW(allocator.allocate(SIZE_MAX - 100), ResourceExhaustedError);
  EXPECT_EQ(allocator.stats().num_ooms, 2u);
  EXPECT_EQ(allocator.stats().reserved, 0u);
}

TEST(CachingAllocator, RetriesAfterReturningCachedSegments) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options(4 * kMiB));
  allocator.deallocate(allocator.allocate(1 * kMiB));  // leaves a cached 2 MiB segment
  EXPECT_EQ(allocator.stats().reserved, 2 * kMiB);
  void* large = allocator.allocate(3 * kMiB);  // needs 4 MiB: only fits once the cache is gone
  EXPECT_EQ(device.deallocate_calls, 1u);
  EXPECT_EQ(allocator.stats().reserved, 4 * kMiB);
  EXPECT_EQ(allocator.stats().num_ooms, 0u);
  allocator.deallocate(large);
}

TEST(CachingAllocator, FullDeviceRaisesAndCountsOom) {
  SimulatedDevice device(8 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(6 * kMiB);
  try {
    allocator.allocate(4 * kMiB);
    FAIL() << "expected ResourceExhaustedError";
  } catch (const ResourceExhaustedError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("/device:GPU:0"), std::string::npos) << message;
    EXPECT_NE(message.find("allocating 4.0 MiB"), std::string::npos) << message;
    EXPECT_NE(message.find("6.0 MiB in use"), std::string::npos) << message;
    EXPECT_EQ(message.find("memory_limit 0"), std::string::npos) << message;
  }
  EXPECT_EQ(allocator.stats().num_ooms, 1u);
  EXPECT_EQ(allocator.stats().reserved, 6 * kMiB);
  allocator.deallocate(a);
  void* b = allocator.allocate(4 * kMiB);  // served from the freed segment
  EXPECT_EQ(allocator.stats().num_ooms, 1u);
  allocator.deallocate(b);
}

TEST(CachingAllocator, NearlyFullDeviceFallsBackToTheExactSize) {
  SimulatedDevice device(5 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(4608 * kKiB);  // 4.5 MiB: the 6 MiB segment does not fit
  EXPECT_EQ(allocator.stats().reserved, 4608 * kKiB);
  EXPECT_EQ(device.allocate_calls, 2u);
  allocator.deallocate(a);
}

TEST(CachingAllocator, EmptyCacheReturnsOnlyFullyFreeSegments) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(1536 * kKiB);
  void* b = allocator.allocate(1536 * kKiB);
  void* c = allocator.allocate(1536 * kKiB);
  ASSERT_EQ(device.allocate_calls, 3u);  // one 2 MiB segment each
  allocator.deallocate(a);
  allocator.deallocate(c);
  allocator.empty_cache();
  EXPECT_EQ(device.deallocate_calls, 2u);
  EXPECT_EQ(device.live_segments(), 1u);
  EXPECT_EQ(allocator.stats().reserved, 2 * kMiB);
  allocator.deallocate(b);
  allocator.empty_cache();
  EXPECT_EQ(device.deallocate_calls, 3u);
  EXPECT_EQ(allocator.stats().reserved, 0u);
}

TEST(CachingAllocator, PreallocationServesFirstThenGrows) {
  SimulatedDevice device(64 * kMiB);
  AllocatorOptions options = gpu_options(32 * kMiB);
  options.allow_growth = false;
  options.preallocate_bytes = 8 * kMiB;
  CachingAllocator allocator(device.native(), options);
  EXPECT_EQ(device.allocate_calls, 1u);
  EXPECT_EQ(allocator.stats().reserved, 8 * kMiB);
  EXPECT_EQ(allocator.stats().num_native_allocs, 0u);
  std::vector<void*> blocks;
  for (int i = 0; i < 7; ++i) blocks.push_back(allocator.allocate(1 * kMiB));
  blocks.push_back(allocator.allocate(1000 * kKiB));
  EXPECT_EQ(device.allocate_calls, 1u);
  for (size_t i = 1; i < blocks.size(); ++i) {
    EXPECT_EQ(as_bytes(blocks[i]), as_bytes(blocks[0]) + i * kMiB);  // all in the segment
  }
  void* grown = allocator.allocate(1 * kMiB);  // the pre-allocation is exhausted
  EXPECT_EQ(device.allocate_calls, 2u);
  EXPECT_EQ(allocator.stats().reserved, 10 * kMiB);
  allocator.deallocate(grown);
  for (void* p : blocks) allocator.deallocate(p);
  allocator.empty_cache();  // returns the grown segment, keeps the pre-allocated one
  EXPECT_EQ(device.deallocate_calls, 1u);
  EXPECT_EQ(allocator.stats().reserved, 8 * kMiB);
}

TEST(CachingAllocator, PreallocationOptionsAreChecked) {
  SimulatedDevice device(4 * kMiB);
  AllocatorOptions options = gpu_options(8 * kMiB);
  options.allow_growth = false;
  options.preallocate_bytes = 16 * kMiB;
  EXPECT_THROW(CachingAllocator(device.native(), options), ValueError);
  options.preallocate_bytes = 6 * kMiB;  // within the limit, but the device is smaller
  EXPECT_THROW(CachingAllocator(device.native(), options), ResourceExhaustedError);
  options.allow_growth = true;  // growth ignores preallocate_bytes
  CachingAllocator growing(device.native(), options);
  EXPECT_EQ(growing.stats().reserved, 0u);
}

TEST(CachingAllocator, InvalidOptionsAreRejected) {
  SimulatedDevice device(4 * kMiB);
  AllocatorOptions options = gpu_options();
  options.alignment = 100;
  EXPECT_THROW(CachingAllocator(device.native(), options), ValueError);
  options.alignment = 0;
  EXPECT_THROW(CachingAllocator(device.native(), options), ValueError);
  EXPECT_THROW(CachingAllocator(NativeAllocator{}, gpu_options()), ValueError);
}

TEST(CachingAllocator, DoubleFreeAndForeignPointersThrow) {
  SimulatedDevice device(64 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  void* a = allocator.allocate(1024);
  void* b = allocator.allocate(1024);
  int local = 0;
  EXPECT_THROW(allocator.deallocate(&local), RuntimeError);
  EXPECT_THROW(allocator.deallocate(as_bytes(a) + 256), RuntimeError);  // inside a block
  allocator.deallocate(a);
  try {
    allocator.deallocate(a);
    FAIL() << "expected RuntimeError";
  } catch (const RuntimeError& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("not allocated by this allocator"), std::string::npos) << message;
    EXPECT_NE(message.find("already freed"), std::string::npos) << message;
  }
  allocator.deallocate(nullptr);  // a no-op
  EXPECT_EQ(allocator.stats().current, 1024u);
  allocator.deallocate(b);
}

TEST(CachingAllocator, MisalignedNativeMemoryIsRejectedAndReturned) {
  SimulatedDevice device(64 * kMiB, /*misalign=*/16);
  CachingAllocator allocator(device.native(), gpu_options());
  EXPECT_THROW(allocator.allocate(1024), RuntimeError);
  EXPECT_EQ(device.deallocate_calls, 1u);
  EXPECT_EQ(allocator.stats().reserved, 0u);
}

TEST(CachingAllocator, DestructorReturnsEverySegment) {
  SimulatedDevice device(64 * kMiB);
  {
    CachingAllocator allocator(device.native(), gpu_options());
    allocator.allocate(1 * kMiB);  // still in use at destruction
    allocator.deallocate(allocator.allocate(5 * kMiB));
    EXPECT_EQ(device.live_segments(), 2u);
  }
  EXPECT_EQ(device.live_segments(), 0u);
  EXPECT_EQ(device.deallocate_calls, 2u);
}

TEST(CachingAllocator, ConcurrentUseNeverOverlapsBlocks) {
  SimulatedDevice device(128 * kMiB);
  CachingAllocator allocator(device.native(), gpu_options());
  constexpr int kThreads = 4;
  constexpr int kIterations = 20000;
  std::latch start(kThreads);  // all threads contend from the first iteration
  std::vector<std::thread> threads;
  std::array<int, kThreads> failures{};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1234 + t);
      struct Live {
        char* ptr;
        size_t bytes;
        char pattern;
      };
      std::vector<Live> live;
      std::vector<char> expected;
      start.arrive_and_wait();
      auto check_and_free = [&](size_t index) {
        const Live block = live[index];
        expected.assign(block.bytes, block.pattern);
        if (block.bytes > 0 && std::memcmp(block.ptr, expected.data(), block.bytes) != 0) {
          ++failures[t];
        }
        allocator.deallocate(block.ptr);
        live[index] = live.back();
        live.pop_back();
      };
      for (int i = 0; i < kIterations; ++i) {
        if (live.size() >= 8 || (!live.empty() && rng() % 3 == 0)) {
          check_and_free(rng() % live.size());
          continue;
        }
        // Mostly small blocks, so threads spend their time inside the allocator.
        const size_t bytes = rng() % 50 == 0 ? 1 * kMiB + rng() % kMiB : rng() % (8 * kKiB);
        char* ptr = as_bytes(allocator.allocate(bytes));
        if (!device.contains(ptr, bytes) || reinterpret_cast<uintptr_t>(ptr) % 256 != 0) {
          ++failures[t];
        }
        const char pattern = static_cast<char>(t * 64 + i % 64);
        std::memset(ptr, pattern, bytes);
        live.push_back({ptr, bytes, pattern});
        if (i % 64 == 0) (void)allocator.stats();
      }
      while (!live.empty()) check_and_free(live.size() - 1);
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
  const MemoryInfo stats = allocator.stats();
  EXPECT_EQ(stats.current, 0u);
  EXPECT_EQ(stats.num_ooms, 0u);
  EXPECT_GT(stats.peak, 0u);
  EXPECT_LT(stats.num_native_allocs, stats.num_allocs / 10);  // the cache did its job
  allocator.empty_cache();
  EXPECT_EQ(allocator.stats().reserved, 0u);
  EXPECT_EQ(device.live_segments(), 0u);
}

}  // namespace
}  // namespace kerosene::runtime
