// Loading the CUDA plugin lists the GPUs without creating a CUDA context on any of them (issue
// 9, defect 4): a context holds hundreds of MB on its GPU, and kerosene loads the plugin in
// every process, doctor and CPU-only runs included. Only a fresh process can tell, so the test
// runs this binary again with one child test selected; the child asks the driver
// (cuDevicePrimaryCtxGetState, which creates nothing) whether it holds a context. GPU-only:
// without a GPU the child skips, and so does the test, saying why.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "backends/cuda_plugin/plugin_loader.h"
#include "cli_util.h"
#include "kerosene/kerosene.h"

namespace kerosene {
namespace {

using CuInit = int (*)(unsigned);
using CuDeviceGet = int (*)(int*, int);
using CuPrimaryCtxGetState = int (*)(int, unsigned*, int*);

// -1: the driver cannot say; else the number of GPUs on which this process has a primary context.
int gpus_with_a_context(int count, std::string& why) {
  void* cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);  // the one the plugin loaded
  if (!cuda) cuda = dlopen("libcuda.so.1", RTLD_NOW);
  auto init = cuda ? reinterpret_cast<CuInit>(dlsym(cuda, "cuInit")) : nullptr;
  auto get = cuda ? reinterpret_cast<CuDeviceGet>(dlsym(cuda, "cuDeviceGet")) : nullptr;
  auto state = cuda ? reinterpret_cast<CuPrimaryCtxGetState>(dlsym(cuda, "cuDevicePrimaryCtxGetState")) : nullptr;
  if (!init || !get || !state || init(0) != 0) {
    why = "libcuda.so.1 or its cuDevicePrimaryCtxGetState is not usable";
    return -1;
  }
  int active_on = 0;
  for (int i = 0; i < count; ++i) {
    int device = 0, active = 0;
    unsigned flags = 0;
    if (get(&device, i) != 0 || state(device, &flags, &active) != 0) {
      why = "cuDevicePrimaryCtxGetState failed on device " + std::to_string(i);
      return -1;
    }
    active_on += active ? 1 : 0;
  }
  return active_on;
}

TEST(GpuDiscoveryChild, ListsTheGpusWithoutAContext) {
  if (!std::getenv("KEROSENE_DISCOVERY_CHILD")) GTEST_SKIP() << "runs only as GpuDiscoveryTest's child process";
  const auto& plugin = backends::cuda_plugin::plugin();
  if (!plugin.loaded || plugin.devices.empty()) {
    GTEST_SKIP() << "no GPU here: " << (plugin.loaded ? plugin.init_error : plugin.load_error);
  }
  std::string why;
  const int count = static_cast<int>(plugin.devices.size());
  const int before = gpus_with_a_context(count, why);
  if (before < 0) GTEST_SKIP() << why;
  EXPECT_EQ(before, 0) << "discovery created a context on " << before << " of " << count << " GPUs";
  // The control: using a GPU does create one, and the query sees it.
  Tensor t = Tensor::zeros({4}, DType::float32, Device(DeviceType::GPU, 0));
  EXPECT_EQ(t.to_vector<float>()[0], 0.0f);
  EXPECT_GE(gpus_with_a_context(count, why), 1) << "the query cannot see contexts, so the check above proves nothing";
}

TEST(GpuDiscoveryTest, LoadingThePluginCreatesNoContext) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const test_util::CommandResult r = test_util::run_shell(
      "KEROSENE_DISCOVERY_CHILD=1 " + test_util::shell_quote(self) +
      " --gtest_filter=GpuDiscoveryChild.ListsTheGpusWithoutAContext");
  ASSERT_EQ(r.exit_code, 0) << test_util::describe(r);
  const size_t skipped = r.out.find("Skipped");
  if (r.out.find("[  SKIPPED ]") != std::string::npos) {
    GTEST_SKIP() << "the child skipped: " << r.out.substr(skipped == std::string::npos ? 0 : skipped, 300);
  }
  EXPECT_NE(r.out.find("[  PASSED  ] 1 test."), std::string::npos) << "the child test did not run\n"
                                                                     << test_util::describe(r);
}

}  // namespace
}  // namespace kerosene
