// Device configuration with TensorFlow's semantics: visibility, memory growth, device details,
// build information, soft placement and placement logging — on logical CPU devices here, and on
// GPUs where the machine has them (those tests skip, saying why, where it has none).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "kerosene_build_info.h"

namespace kerosene {
namespace {

using config::LogicalDeviceConfiguration;
using config::PhysicalDevice;
using test_util::run_in_fresh_process;

bool machine_has_gpu() { return !config::list_physical_devices("GPU").empty(); }

#define SKIP_WITHOUT_GPU()                                                                          \
  if (!machine_has_gpu()) GTEST_SKIP() << "no usable GPU on this machine (kerosene doctor says: " \
                                       << doctor::diagnose().reason << ")"

TEST(DeviceConfigTest, CpuIsVisibleAndCannotBeHidden) {
  run_in_fresh_process([] {
    const auto cpu = config::list_physical_devices("CPU").at(0);
    FRESH_CHECK(config::get_visible_devices("CPU") == std::vector<PhysicalDevice>{cpu});
    FRESH_EXPECT_THROW(ValueError, config::set_visible_devices({}, "CPU"), "the CPU cannot be hidden");
    FRESH_EXPECT_THROW(ValueError, config::set_visible_devices({}), "no devices and no device_type");
    FRESH_EXPECT_THROW(ValueError, config::set_visible_devices({{"/physical_device:GPU:7", "GPU"}}, "GPU"),
                       "unknown physical device \"/physical_device:GPU:7\"", "/physical_device:CPU:0");
    FRESH_EXPECT_THROW(ValueError, config::set_visible_devices({cpu}, "GPU"), "is not of device_type \"GPU\"");
    FRESH_EXPECT_THROW(ValueError, config::set_visible_devices({cpu}, "TPU"), "TPU");
    config::set_visible_devices({cpu}, "CPU");  // the CPU listed: fine
    config::set_visible_devices({}, "GPU");     // hide every GPU (there may be none)
    FRESH_CHECK(config::get_visible_devices("GPU").empty());
    FRESH_CHECK(config::list_logical_devices("GPU").empty());
    FRESH_EXPECT_THROW(RuntimeError, config::set_visible_devices({}, "GPU"),
                       "visible devices cannot be modified after the runtime is initialized",
                       "list_logical_devices was called");
  });
}

TEST(DeviceConfigTest, MemoryGrowthIsForGpusOnly) {
  const auto cpu = config::list_physical_devices("CPU").at(0);
  EXPECT_THROW(config::experimental::set_memory_growth(cpu, true), ValueError);
  EXPECT_THROW(config::experimental::get_memory_growth(cpu), ValueError);
  EXPECT_THROW(config::experimental::set_memory_growth({"/physical_device:GPU:9", "GPU"}, true), ValueError);
}

TEST(DeviceConfigTest, CpuDetails) {
  const auto details = config::experimental::get_device_details(config::list_physical_devices("CPU").at(0));
  EXPECT_FALSE(details.device_name.empty());
  EXPECT_GT(details.total_memory, size_t{1} << 28);
  EXPECT_EQ(details.compute_capability_major, 0);
  EXPECT_THROW(config::experimental::get_device_details({"/physical_device:CPU:3", "CPU"}), ValueError);
}

TEST(DeviceConfigTest, BuildInfoMatchesTheBuild) {
  const auto info = config::build_info();
  EXPECT_EQ(info.is_cuda_build, KEROSENE_BUILT_WITH_CUDA != 0);
  EXPECT_EQ(config::is_built_with_cuda(), info.is_cuda_build);
  EXPECT_EQ(info.kerosene_version, KEROSENE_VERSION);
  if (info.is_cuda_build) {
    EXPECT_NE(info.cuda_version, "");
    EXPECT_EQ(info.cudnn_version.substr(0, 2), "9.");
    EXPECT_NE(info.cuda_compute_capabilities.find("sm_80"), std::string::npos);
    EXPECT_NE(info.cuda_compute_capabilities.find("sm_90"), std::string::npos);
    EXPECT_NE(info.cuda_compute_capabilities.find("compute_90"), std::string::npos);
  } else {
    EXPECT_EQ(info.cuda_version, "");
  }
}

TEST(DeviceConfigTest, MissingGpuIsAnErrorCarryingTheDiagnosis) {
  if (machine_has_gpu()) GTEST_SKIP() << "this machine has a GPU; the missing-GPU path needs one without";
  run_in_fresh_process([] {
    FRESH_CHECK(!config::get_soft_device_placement());
    const auto verdict = doctor::diagnose();
    FRESH_EXPECT_THROW(DeviceError, DeviceScope scope("/GPU:0"), "/GPU:0 does not exist", "No GPU is usable",
                       "fix:");
    FRESH_EXPECT_THROW(DeviceError, Tensor::zeros({2}, DType::float32, Device::parse("GPU:0")), "does not exist");
  });
}

TEST(DeviceConfigTest, SoftPlacementFallsBackWithAWarning) {
  run_in_fresh_process([] {
    config::set_soft_device_placement(true);
    FRESH_CHECK(config::get_soft_device_placement());
    testing::internal::CaptureStderr();
    {
      DeviceScope scope("/CPU:5");
      FRESH_CHECK(DeviceScope::current() == Device());
      FRESH_CHECK(Tensor::zeros({2}).device() == Device());
    }
    const std::string err = testing::internal::GetCapturedStderr();
    FRESH_CHECK_MSG(err.find("kerosene: warning: soft device placement: /CPU:5 was requested") != std::string::npos, err);
    FRESH_CHECK_MSG(err.find("Running on /CPU:0 instead") != std::string::npos, err);
  });
}

TEST(DeviceConfigTest, LogsOpPlacementAndCopies) {
  run_in_fresh_process([] {
    const auto cpu = config::list_physical_devices("CPU").at(0);
    config::set_logical_device_configuration(cpu, {LogicalDeviceConfiguration{}, LogicalDeviceConfiguration{}});
    config::set_log_device_placement(true);
    FRESH_CHECK(config::get_log_device_placement());
    Tensor x = Tensor::full({3, 4}, 1.0f);
    testing::internal::CaptureStderr();
    Tensor y = x.to(Device::parse("CPU:1"));
    {
      DeviceScope scope("/CPU:1");
      Sequential model({layers::Input({4}), layers::Dense(2)});
      FRESH_CHECK(model.device() == Device::parse("CPU:1"));
      model.predict(y, {.verbose = 0});
    }
    const std::string err = testing::internal::GetCapturedStderr();
    FRESH_CHECK_MSG(err.find("Copying tensor of shape (3, 4) (float32, 48 bytes) from "
                             "/job:localhost/replica:0/task:0/device:CPU:0 to "
                             "/job:localhost/replica:0/task:0/device:CPU:1") != std::string::npos, err);
    FRESH_CHECK_MSG(err.find("Executing op matmul in device /job:localhost/replica:0/task:0/device:CPU:1") !=
                        std::string::npos, err);
    config::set_log_device_placement(false);
    testing::internal::CaptureStderr();
    Tensor z = y.to(Device());
    FRESH_CHECK(testing::internal::GetCapturedStderr().empty());
  });
}

TEST(DeviceConfigTest, ModelsGoToTheFirstGpuElseTheCpu) {
  run_in_fresh_process([] {
    Sequential model({layers::Input({4}), layers::Dense(2)});
    const bool gpu = !config::list_logical_devices("GPU").empty();
    FRESH_CHECK(model.device() == (gpu ? Device::parse("GPU:0") : Device()));
    FRESH_CHECK(Tensor::zeros({2}).device() == Device());  // data stays on the host unless placed
  });
}

TEST(DeviceConfigTest, ForcedGrowthVariableMustBeABoolean) {
  run_in_fresh_process([] {
    setenv("TF_FORCE_GPU_ALLOW_GROWTH", "maybe", 1);
    FRESH_EXPECT_THROW(ValueError, config::list_logical_devices(), "TF_FORCE_GPU_ALLOW_GROWTH", "\"maybe\"");
  });
}

TEST(DeviceConfigTest, EmptyCacheReturnsMemory) {
  run_in_fresh_process([] {
    { Tensor big = Tensor::zeros({8 << 20}); }
    FRESH_CHECK(config::experimental::get_memory_info("CPU:0").reserved >= size_t{32} << 20);
    config::experimental::empty_cache("CPU:0");
    FRESH_CHECK(config::experimental::get_memory_info("CPU:0").reserved < size_t{32} << 20);
  });
}

// --- GPU-only: these run where the machine has a GPU -------------------------------------------

TEST(DeviceConfigGpuTest, GrowthDefaultsOnAndCanBeTurnedOff) {
  SKIP_WITHOUT_GPU();
  run_in_fresh_process([] {
    unsetenv("TF_FORCE_GPU_ALLOW_GROWTH");
    const auto gpu = config::list_physical_devices("GPU").at(0);
    FRESH_CHECK(config::experimental::get_memory_growth(gpu));
    config::experimental::set_memory_growth(gpu, false);
    FRESH_CHECK(!config::experimental::get_memory_growth(gpu));
    Tensor t = Tensor::zeros({16}, DType::float32, Device::parse("GPU:0"));
    const auto info = config::experimental::get_memory_info("GPU:0");
    const auto details = config::experimental::get_device_details(gpu);
    FRESH_CHECK_MSG(info.reserved > details.total_memory / 2, std::to_string(info.reserved));  // pre-allocated
  });
}

TEST(DeviceConfigGpuTest, LogicalGpusWithLimits) {
  SKIP_WITHOUT_GPU();
  run_in_fresh_process([] {
    const auto gpu = config::list_physical_devices("GPU").at(0);
    FRESH_EXPECT_THROW(ValueError, config::set_logical_device_configuration(gpu, {{}, {}}), "needs a memory_limit");
    config::set_logical_device_configuration(gpu, {LogicalDeviceConfiguration{256}, LogicalDeviceConfiguration{256}});
    const auto gpus = config::list_logical_devices("GPU");
    FRESH_CHECK(gpus.size() >= 2);
    FRESH_CHECK(config::experimental::get_memory_info("GPU:1").limit == size_t{256} << 20);
    FRESH_EXPECT_THROW(ResourceExhaustedError, Tensor::zeros({128 << 20}, DType::float32, Device::parse("GPU:0")),
                       "/GPU:0", "batch size");
  });
}

TEST(DeviceConfigGpuTest, GpuDetails) {
  SKIP_WITHOUT_GPU();
  const auto details = config::experimental::get_device_details(config::list_physical_devices("GPU").at(0));
  EXPECT_GE(details.compute_capability_major, 5);
  EXPECT_EQ(details.uuid.rfind("GPU-", 0), 0u);
  EXPECT_GT(details.total_memory, size_t{1} << 30);
}

TEST(DeviceConfigGpuTest, VisibleDevicesHideGpus) {
  SKIP_WITHOUT_GPU();
  run_in_fresh_process([] {
    config::set_visible_devices({}, "GPU");
    FRESH_CHECK(config::list_logical_devices("GPU").empty());
    FRESH_CHECK(config::list_physical_devices("GPU").size() >= 1);  // still there, only hidden
    FRESH_EXPECT_THROW(DeviceError, DeviceScope scope("/GPU:0"), "does not exist");
  });
}

}  // namespace
}  // namespace kerosene
