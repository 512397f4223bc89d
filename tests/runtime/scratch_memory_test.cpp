// The CUDA plugin's scratch memory goes through the core's allocator (issue 9, defect 9): it
// counts as memory in use and against the device's memory limit, and an allocation beyond the
// limit comes back to the plugin as null plus the allocator's words (the plugin then says "out
// of memory" and, for a cuDNN workspace, tries a leaner algorithm). The plugin's side
// (reserve() calling these) runs on a GPU only: GpuScratchTest below and scripts/gpu_check.sh.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "backends/cuda_plugin/scratch_memory.h"
#include "kerosene/kerosene.h"
#include "runtime/device_context.h"

namespace kerosene::backends::cuda_plugin {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

runtime::CachingAllocator limited_allocator(size_t limit) {
  runtime::AllocatorOptions options;
  options.device_name = "/device:GPU:0";
  options.memory_limit = limit;
  return runtime::CachingAllocator({[](size_t bytes) { return std::aligned_alloc(256, (bytes + 255) / 256 * 256); },
                                    [](void* p) { std::free(p); }},
                                   options);
}

TEST(ScratchMemoryTest, ScratchCountsAsMemoryInUseAndIsReturned) {
  auto allocator = limited_allocator(64 * kMiB);
  char error[256] = {};
  void* workspace = serve_scratch(&allocator, 0, 32 * kMiB, error, sizeof error);
  ASSERT_NE(workspace, nullptr) << error;
  EXPECT_GE(allocator.stats().current, 32 * kMiB);
  return_scratch(&allocator, workspace);
  EXPECT_EQ(allocator.stats().current, 0u);
}

TEST(ScratchMemoryTest, ScratchBeyondTheMemoryLimitIsRefusedWithTheAllocatorsWords) {
  auto allocator = limited_allocator(16 * kMiB);
  char error[512] = {};
  EXPECT_EQ(serve_scratch(&allocator, 0, 32 * kMiB, error, sizeof error), nullptr);
  EXPECT_NE(std::string(error).find("/device:GPU:0"), std::string::npos) << error;
}

TEST(ScratchMemoryTest, NoAllocatorIsAnErrorNotACrash) {
  char error[256] = {};
  EXPECT_EQ(serve_scratch(nullptr, 3, 1024, error, sizeof error), nullptr);
  EXPECT_EQ(std::string(error), "no logical device uses CUDA device 3");
  return_scratch(nullptr, nullptr);
}

// On a GPU: cuBLASLt's workspace (32 MiB, else 4 MiB, reserved by the process's first matmul
// and kept) is memory in use on the device, next to three 16 KiB tensors.
TEST(GpuScratchTest, TheMatmulWorkspaceCountsInTheGpusMemoryInfo) {
  if (config::list_logical_devices("GPU").empty()) GTEST_SKIP() << "needs a GPU; this machine has none";
  const Device gpu(DeviceType::GPU, 0);
  Tensor a = Tensor::zeros({64, 64}, DType::float32, gpu), b = Tensor::zeros({64, 64}, DType::float32, gpu);
  Tensor c = Tensor::zeros({64, 64}, DType::float32, gpu);
  runtime::Registry::instance().context(gpu).backend().matmul(a, false, b, false, nullptr, c, false,
                                                               ActivationKind::linear, backends::ComputePrecision::float32);
  (void)c.to_vector<float>();
  EXPECT_GE(runtime::Registry::instance().context(gpu).allocator().stats().current, 4 * kMiB);
}

}  // namespace
}  // namespace kerosene::backends::cuda_plugin
