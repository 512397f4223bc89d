// The GPU memory policy (growth, pre-allocation, memory_limit) with the allocator that serves
// GPUs, on a simulated device of a GPU's size: the addresses are never touched, so a 16 GiB
// device costs nothing here.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>

#include "kerosene/error.h"
#include "runtime/caching_allocator.h"
#include "runtime/device_context.h"

namespace kerosene::runtime {
namespace {

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kGiB = size_t{1} << 30;

/// A device of `capacity` bytes handing out 256-aligned addresses it never backs with memory.
class VirtualDevice {
 public:
  explicit VirtualDevice(size_t capacity) : capacity_(capacity) {}
  NativeAllocator native() {
    return {[this](size_t bytes) -> void* {
              ++native_allocs;
              if (used_ + bytes > capacity_) return nullptr;
              used_ += bytes;
              const uintptr_t address = next_;
              next_ += (bytes + 255) / 256 * 256;
              live_[address] = bytes;
              return reinterpret_cast<void*>(address);
            },
            [this](void* ptr) {
              auto it = live_.find(reinterpret_cast<uintptr_t>(ptr));
              ASSERT_NE(it, live_.end());
              used_ -= it->second;
              live_.erase(it);
            }};
  }
  size_t used() const { return used_; }
  int native_allocs = 0;

 private:
  size_t capacity_, used_ = 0;
  uintptr_t next_ = uintptr_t{1} << 40;
  std::map<uintptr_t, size_t> live_;
};

TEST(GpuMemoryPolicy, GrowthReservesOnlyWhatIsUsed) {
  VirtualDevice gpu(16 * kGiB);
  const auto options = gpu_memory_policy("/device:GPU:0", /*growth=*/true, std::nullopt, 15 * kGiB, 1);
  EXPECT_TRUE(options.allow_growth);
  EXPECT_EQ(options.preallocate_bytes, 0u);
  CachingAllocator allocator(gpu.native(), options);
  EXPECT_EQ(gpu.used(), 0u);
  void* p = allocator.allocate(100 * kMiB);
  EXPECT_EQ(allocator.stats().reserved, 100 * kMiB);
  EXPECT_EQ(gpu.used(), 100 * kMiB);
  allocator.deallocate(p);
  allocator.empty_cache();
  EXPECT_EQ(gpu.used(), 0u);
}

TEST(GpuMemoryPolicy, NoGrowthReservesNinetyPercentOfFreeMemoryAtStart) {
  VirtualDevice gpu(16 * kGiB);
  const size_t free_bytes = 15 * kGiB + 123 * kMiB;
  const auto options = gpu_memory_policy("/device:GPU:0", /*growth=*/false, std::nullopt, free_bytes, 1);
  EXPECT_FALSE(options.allow_growth);
  EXPECT_EQ(options.preallocate_bytes % (2 * kMiB), 0u);
  EXPECT_LE(options.preallocate_bytes, static_cast<size_t>(free_bytes * kGpuPreallocateFraction));
  EXPECT_GT(options.preallocate_bytes, static_cast<size_t>(free_bytes * kGpuPreallocateFraction) - 2 * kMiB);
  CachingAllocator allocator(gpu.native(), options);
  EXPECT_EQ(gpu.used(), options.preallocate_bytes);  // all of it, in one native allocation
  EXPECT_EQ(gpu.native_allocs, 1);
  void* p = allocator.allocate(kGiB);
  EXPECT_EQ(gpu.native_allocs, 1);  // served from the reservation
  allocator.deallocate(p);
  allocator.empty_cache();
  EXPECT_EQ(gpu.used(), options.preallocate_bytes);  // the reservation is kept
}

TEST(GpuMemoryPolicy, LogicalDevicesShareThePreallocation) {
  const auto options = gpu_memory_policy("/device:GPU:1", false, std::nullopt, 10 * kGiB, 2);
  EXPECT_NEAR(static_cast<double>(options.preallocate_bytes), 10.0 * kGiB * kGpuPreallocateFraction / 2, 2.0 * kMiB);
}

TEST(GpuMemoryPolicy, MemoryLimitIsAHardCapAndTheReservationWithoutGrowth) {
  VirtualDevice gpu(16 * kGiB);
  const auto options = gpu_memory_policy("/device:GPU:0", /*growth=*/false, 1024, 15 * kGiB, 1);
  EXPECT_EQ(options.memory_limit, kGiB);
  EXPECT_EQ(options.preallocate_bytes, kGiB);
  CachingAllocator allocator(gpu.native(), options);
  EXPECT_EQ(gpu.used(), kGiB);
  try {
    allocator.allocate(kGiB + kGiB / 2);
    FAIL() << "a request beyond the memory_limit was served";
  } catch (const ResourceExhaustedError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("/device:GPU:0"), std::string::npos) << message;
    EXPECT_NE(message.find("memory_limit 1.0 GiB"), std::string::npos) << message;
    EXPECT_NE(message.find("batch size"), std::string::npos) << message;
  }
  EXPECT_EQ(allocator.stats().num_ooms, 1u);
}

TEST(GpuMemoryPolicy, GrowthUnderALimitNeverReservesBeyondIt) {
  VirtualDevice gpu(16 * kGiB);
  CachingAllocator allocator(gpu.native(), gpu_memory_policy("/device:GPU:0", true, 512, 15 * kGiB, 1));
  std::vector<void*> blocks;
  EXPECT_THROW(
      {
        for (int i = 0; i < 100; ++i) blocks.push_back(allocator.allocate(64 * kMiB));
      },
      ResourceExhaustedError);
  EXPECT_EQ(blocks.size(), 8u);
  EXPECT_LE(allocator.stats().reserved, 512 * kMiB);
  for (void* p : blocks) allocator.deallocate(p);
}

TEST(GpuMemoryPolicy, APreallocationTheDeviceCannotGiveIsAnError) {
  VirtualDevice gpu(4 * kGiB);  // the driver said 15 GiB were free; another process took them
  EXPECT_THROW(CachingAllocator(gpu.native(), gpu_memory_policy("/device:GPU:0", false, std::nullopt, 15 * kGiB, 1)),
               ResourceExhaustedError);
}

}  // namespace
}  // namespace kerosene::runtime
