// kerosene::config: logical devices, memory limits and statistics, the freeze after
// initialization, and the threading knobs.
//
// The runtime initializes once per process, so every test that needs it uninitialized runs its
// body in a fresh copy of this binary (run_in_fresh_process).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "cli_util.h"
#include "kerosene/kerosene.h"

namespace kerosene {
namespace {

using config::LogicalDevice;
using config::LogicalDeviceConfiguration;
using test_util::run_in_fresh_process;

constexpr size_t kMiB = size_t{1} << 20;

config::PhysicalDevice the_cpu() {
  auto cpus = config::list_physical_devices("CPU");
  FRESH_CHECK(cpus.size() == 1);
  return cpus[0];
}

TEST(ConfigTest, PhysicalDevices) {
  auto cpus = config::list_physical_devices("CPU");
  ASSERT_EQ(cpus.size(), 1u);
  EXPECT_EQ(cpus[0].name, "/physical_device:CPU:0");
  EXPECT_EQ(cpus[0].device_type, "CPU");
  EXPECT_EQ(config::list_physical_devices("cpu"), cpus);
  EXPECT_EQ(config::list_physical_devices().size(), 1 + config::list_physical_devices("GPU").size());
  EXPECT_THROW(config::list_physical_devices("TPU"), ValueError);
}

TEST(ConfigTest, TwoLogicalCpus) {
  run_in_fresh_process([] {
    FRESH_CHECK(!config::is_runtime_initialized());
    const auto cpu = the_cpu();
    FRESH_CHECK(!config::is_runtime_initialized());  // listing physical devices does not initialize
    config::set_logical_device_configuration(cpu, {LogicalDeviceConfiguration{}, LogicalDeviceConfiguration{}});
    FRESH_CHECK(config::get_logical_device_configuration(cpu).size() == 2);
    FRESH_CHECK(!config::is_runtime_initialized());

    const std::vector<LogicalDevice> expected{{"/device:CPU:0", "CPU"}, {"/device:CPU:1", "CPU"}};
    FRESH_CHECK(config::list_logical_devices("CPU") == expected);
    FRESH_CHECK(config::list_logical_devices() == expected);
    FRESH_CHECK(config::list_logical_devices("GPU").empty());
    FRESH_CHECK(config::is_runtime_initialized());
    FRESH_CHECK_MSG(config::runtime_initialized_by().find("list_logical_devices was called") != std::string::npos,
                    config::runtime_initialized_by());
    FRESH_EXPECT_THROW(ValueError, config::list_logical_devices("TPU"), "TPU");
  });
}

TEST(ConfigTest, OneLogicalCpuByDefault) {
  run_in_fresh_process([] {
    const std::vector<LogicalDevice> expected{{"/device:CPU:0", "CPU"}};
    FRESH_CHECK(config::list_logical_devices("CPU") == expected);
  });
}

TEST(ConfigTest, TensorsGoToTheLogicalDeviceOfTheScope) {
  run_in_fresh_process([] {
    config::set_logical_device_configuration(the_cpu(), {{}, {}});
    const auto before0 = config::experimental::get_memory_info("CPU:0").current;
    const auto before1 = config::experimental::get_memory_info("CPU:1").current;
    Tensor t;
    {
      DeviceScope scope("/CPU:1");
      t = Tensor::full({1024, 256}, 1.0f);  // 1 MiB
    }
    FRESH_CHECK_MSG(t.device() == Device(DeviceType::CPU, 1), t.device().to_string());
    FRESH_CHECK(config::experimental::get_memory_info("/device:CPU:1").current >= before1 + kMiB);
    FRESH_CHECK(config::experimental::get_memory_info("CPU:0").current < before0 + kMiB);
    // An explicit device wins over the scope; a copy between logical devices keeps the values.
    {
      DeviceScope scope("/CPU:1");
      FRESH_CHECK(Tensor::zeros({2}, DType::float32, Device()).device() == Device());
    }
    Tensor back = t.to(Device());
    FRESH_CHECK(back.device() == Device());
    FRESH_CHECK(back.to_vector<float>() == std::vector<float>(1024 * 256, 1.0f));
  });
}

TEST(ConfigTest, MemoryLimitIsEnforcedPerLogicalDevice) {
  run_in_fresh_process([] {
    LogicalDeviceConfiguration unlimited, limited{.memory_limit = 16};
    config::set_logical_device_configuration(the_cpu(), {unlimited, limited});
    FRESH_CHECK(config::experimental::get_memory_info("CPU:1").limit == 16 * kMiB);
    FRESH_CHECK(config::experimental::get_memory_info("CPU:0").limit == 0);

    const Device cpu1(DeviceType::CPU, 1);
    Tensor fits = Tensor::empty({8 * 1024 * 1024 / 4}, DType::float32, cpu1);  // 8 MiB
    const std::string message = FRESH_EXPECT_THROW(
        ResourceExhaustedError, Tensor::empty({12 * 1024 * 1024 / 4}, DType::float32, cpu1), "/CPU:1", "memory_limit");
    FRESH_CHECK(config::experimental::get_memory_info("CPU:1").num_ooms == 1);
    // The other logical device has no limit.
    Tensor big = Tensor::empty({32 * 1024 * 1024 / 4}, DType::float32, Device());
    FRESH_CHECK(big.device() == Device());
    // Memory given back makes room again.
    fits = Tensor();
    Tensor now_fits = Tensor::empty({12 * 1024 * 1024 / 4}, DType::float32, cpu1);
    FRESH_CHECK(now_fits.defined());
  });
}

TEST(ConfigTest, MemoryInfoFollowsTensorLifetimes) {
  run_in_fresh_process([] {
    using config::experimental::get_memory_info;
    using config::experimental::reset_memory_stats;
    const MemoryInfo start = get_memory_info("CPU:0");
    {
      Tensor a = Tensor::empty({1024, 1024});  // 4 MiB
      const MemoryInfo with_a = get_memory_info("CPU:0");
      FRESH_CHECK(with_a.current >= start.current + 4 * kMiB);
      FRESH_CHECK(with_a.peak >= with_a.current);
      FRESH_CHECK(with_a.reserved >= with_a.current);
      FRESH_CHECK(with_a.num_allocs == start.num_allocs + 1);
      {
        Tensor b = Tensor::empty({512, 1024});  // 2 MiB more
        FRESH_CHECK(get_memory_info("CPU:0").current >= with_a.current + 2 * kMiB);
      }
      FRESH_CHECK(get_memory_info("CPU:0").current == with_a.current);
    }
    const MemoryInfo end = get_memory_info("CPU:0");
    FRESH_CHECK(end.current == start.current);
    FRESH_CHECK(end.peak >= start.current + 6 * kMiB);  // the peak remembers both tensors
    reset_memory_stats("CPU:0");
    FRESH_CHECK(get_memory_info("CPU:0").peak == end.current);
    // Views share the buffer: no allocation.
    Tensor c = Tensor::zeros({64, 64});
    const uint64_t allocs = get_memory_info("CPU:0").num_allocs;
    Tensor view = c.slice(1, 3).reshape({-1});
    FRESH_CHECK(get_memory_info("CPU:0").num_allocs == allocs);
    FRESH_EXPECT_THROW(DeviceError, get_memory_info("CPU:1"), "/CPU:0");
    FRESH_EXPECT_THROW(ValueError, get_memory_info("TPU:0"));
  });
}

TEST(ConfigTest, ConfigurationIsFrozenAfterListLogicalDevices) {
  run_in_fresh_process([] {
    const auto cpu = the_cpu();
    config::list_logical_devices();
    FRESH_EXPECT_THROW(RuntimeError, config::set_logical_device_configuration(cpu, {{}, {}}),
                       "list_logical_devices was called", "set_logical_device_configuration");
    FRESH_CHECK(config::get_logical_device_configuration(cpu).empty());  // unchanged
    FRESH_CHECK(config::list_logical_devices().size() == 1);
  });
}

TEST(ConfigTest, ConfigurationIsFrozenAfterTheFirstTensor) {
  run_in_fresh_process([] {
    Tensor t = Tensor::zeros({1});
    FRESH_CHECK(config::is_runtime_initialized());
    FRESH_EXPECT_THROW(RuntimeError, config::set_logical_device_configuration(the_cpu(), {{}, {}}),
                       "a tensor was created");
  });
}

TEST(ConfigTest, ConfigurationIsFrozenAfterGetMemoryInfo) {
  run_in_fresh_process([] {
    config::experimental::get_memory_info("CPU:0");
    FRESH_EXPECT_THROW(RuntimeError, config::set_logical_device_configuration(the_cpu(), {{}}),
                       "get_memory_info was called");
  });
}

TEST(ConfigTest, BadConfigurationsAreRejected) {
  run_in_fresh_process([] {
    const auto cpu = the_cpu();
    FRESH_EXPECT_THROW(ValueError, config::set_logical_device_configuration(cpu, {}), "at least one");
    FRESH_EXPECT_THROW(ValueError, config::set_logical_device_configuration(cpu, {{.memory_limit = 0}}),
                       "memory_limit");
    FRESH_EXPECT_THROW(ValueError, config::set_logical_device_configuration(cpu, {{}, {.memory_limit = -5}}), "-5");
    FRESH_EXPECT_THROW(ValueError,
                       config::set_logical_device_configuration({"/physical_device:GPU:0", "GPU"}, {{}}),
                       "/physical_device:GPU:0");
    FRESH_CHECK(config::get_logical_device_configuration(cpu).empty());
    FRESH_CHECK(!config::is_runtime_initialized());  // a rejected call initializes nothing
  });
}

TEST(ConfigTest, ThreadingKnobs) {
  namespace th = config::threading;
  const int intra = th::get_intra_op_parallelism_threads();
  const int inter = th::get_inter_op_parallelism_threads();
  th::set_intra_op_parallelism_threads(3);
  th::set_inter_op_parallelism_threads(2);
  EXPECT_EQ(th::get_intra_op_parallelism_threads(), 3);
  EXPECT_EQ(th::get_inter_op_parallelism_threads(), 2);
  EXPECT_THROW(th::set_intra_op_parallelism_threads(-1), ValueError);
  EXPECT_THROW(th::set_inter_op_parallelism_threads(-2), ValueError);
  EXPECT_EQ(th::get_intra_op_parallelism_threads(), 3);  // a rejected value changes nothing
  EXPECT_EQ(th::get_inter_op_parallelism_threads(), 2);
  th::set_intra_op_parallelism_threads(intra);
  th::set_inter_op_parallelism_threads(inter);
}

}  // namespace
}  // namespace kerosene
