// Batches for a GPU are gathered straight into pinned memory, two buffers in turn, and a buffer
// is rewritten only after the copy that last read it is done (issue 9, defect 6). Checked with
// a fake device whose copies stay "in flight" until their fence is waited on.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "data/batching.h"
#include "kerosene/tensor.h"
#include "train/pinned_staging.h"

namespace kerosene::train {
namespace {

class FakePinnedHost final : public backends::PinnedHost {
 public:
  int fences_made = 0, allocations = 0, frees = 0;
  bool refuse = false;
  std::map<void*, bool> in_flight;  // fence -> its copy not yet waited for
  std::vector<const void*> copied_from;
  std::vector<void*> waited;

  void* allocate_pinned(size_t bytes) override {
    if (refuse) return nullptr;
    ++allocations;
    return std::malloc(bytes);
  }
  void free_pinned(void* ptr) override {
    ++frees;
    std::free(ptr);
  }
  void copy_from_pinned(void* dst, const void* src, size_t bytes, void*& fence) override {
    if (!fence) fence = reinterpret_cast<void*>(static_cast<uintptr_t>(++fences_made));
    std::memcpy(dst, src, bytes);
    copied_from.push_back(src);
    in_flight[fence] = true;
  }
  void wait_fence(void* fence) override {
    waited.push_back(fence);
    in_flight[fence] = false;
  }
  void destroy_fence(void*) override {}
};

TEST(PinnedStagingTest, BatchesAlternateBetweenTwoPinnedBuffersAndWaitOnlyForTheirOwnCopy) {
  FakePinnedHost host;
  PinnedStaging staging;
  std::vector<float> device(4);
  void* first = staging.next(host, 16);
  staging.copy(device.data(), 16);
  void* second = staging.next(host, 16);
  EXPECT_NE(first, second) << "the next batch must not overwrite the buffer whose copy may be queued";
  EXPECT_TRUE(host.waited.empty()) << "gathering batch n+1 waits for nothing while batch n's copy is in flight";
  staging.copy(device.data(), 16);
  void* third = staging.next(host, 16);
  EXPECT_EQ(third, first);
  ASSERT_EQ(host.waited.size(), 1u) << "reusing a buffer waits for the copy that read it";
  EXPECT_FALSE(host.in_flight.begin()->second);
  EXPECT_EQ(host.copied_from, (std::vector<const void*>{first, second}));
  EXPECT_EQ(host.allocations, 2);
}

TEST(PinnedStagingTest, RowsAreGatheredStraightIntoThePinnedBuffer) {
  FakePinnedHost host;
  PinnedStaging staging;
  const Tensor xs = Tensor::from_vector(std::vector<uint8_t>{0, 1, 2, 3, 4, 5}, {3, 2});
  const int64_t rows[] = {2, 0};
  void* buffer = staging.next(host, 4 * sizeof(float));
  data::gather_rows(xs, rows, 2, DType::float32, buffer);
  std::vector<float> device(4);
  staging.copy(device.data(), device.size() * sizeof(float));
  EXPECT_EQ(device, (std::vector<float>{4, 5, 0, 1}));
  EXPECT_EQ(host.copied_from.front(), buffer) << "the copy reads the buffer the rows were gathered into";
}

TEST(PinnedStagingTest, ALargerBatchGrowsTheBufferAfterItsCopyIsDone) {
  FakePinnedHost host;
  PinnedStaging staging;
  std::vector<char> device(64);
  staging.next(host, 8);
  staging.copy(device.data(), 8);
  staging.next(host, 8);
  staging.copy(device.data(), 8);
  staging.next(host, 64);
  EXPECT_EQ(host.waited.size(), 1u);
  EXPECT_EQ(host.frees, 1);
  EXPECT_EQ(host.allocations, 3);
}

TEST(PinnedStagingTest, NoPinnedMemoryMeansTheSlowPath) {
  FakePinnedHost host;
  host.refuse = true;
  PinnedStaging staging;
  EXPECT_EQ(staging.next(host, 8), nullptr);
}

}  // namespace
}  // namespace kerosene::train
