// DeviceScope: `with tf.device(...)` in C++. Scopes nest, restore on exit, are per thread, and
// refuse devices that do not exist with the list of those that do.
//
// Tests with two logical CPUs need a runtime nobody has initialized: they run in a fresh process.
#include <gtest/gtest.h>

#include "kerosene/config.h"

#include <string>
#include <thread>

#include "cli_util.h"
#include "kerosene/kerosene.h"

namespace kerosene {
namespace {

using test_util::run_in_fresh_process;

const Device kCpu0(DeviceType::CPU, 0);
const Device kCpu1(DeviceType::CPU, 1);

void use_two_logical_cpus() {
  config::set_logical_device_configuration(config::list_physical_devices("CPU").at(0), {{}, {}});
}

TEST(DeviceScopeTest, DefaultIsCpu0) {
  EXPECT_EQ(DeviceScope::current(), kCpu0);
  {
    DeviceScope scope("/CPU:0");
    EXPECT_EQ(DeviceScope::current(), kCpu0);
  }
  EXPECT_EQ(DeviceScope::current(), kCpu0);
}

TEST(DeviceScopeTest, UnknownCpuIsADeviceErrorListingTheDevices) {
  try {
    DeviceScope scope("/CPU:5");
    FAIL() << "a scope on /CPU:5 was entered";
  } catch (const DeviceError& e) {
    const std::string message = e.what();
    KEROSENE_EXPECT_CONTAINS(message, "/CPU:5");
    KEROSENE_EXPECT_CONTAINS(message, "the logical devices are: /CPU:0");
    KEROSENE_EXPECT_CONTAINS(message, "set_logical_device_configuration");
  }
  EXPECT_EQ(DeviceScope::current(), kCpu0);  // a failed scope leaves the current device alone
}

TEST(DeviceScopeTest, GpuOnAMachineWithoutOneIsADeviceError) {
  if (!config::list_logical_devices("GPU").empty()) GTEST_SKIP() << "this machine has a GPU";
  try {
    DeviceScope scope("/GPU:0");
    FAIL() << "a scope on /GPU:0 was entered on a machine without GPUs";
  } catch (const DeviceError& e) {
    const std::string message = e.what();
    KEROSENE_EXPECT_CONTAINS(message, "/GPU:0");
    KEROSENE_EXPECT_CONTAINS(message, "/CPU:0");
    KEROSENE_EXPECT_CONTAINS(message, "GPU");
  }
  EXPECT_THROW(DeviceScope{Device(DeviceType::GPU, 0)}, DeviceError);
  EXPECT_EQ(DeviceScope::current(), kCpu0);
}

TEST(DeviceScopeTest, MalformedNameIsAValueError) {
  EXPECT_THROW(DeviceScope{"/TPU:0"}, ValueError);
  EXPECT_THROW(DeviceScope{"CPU:x"}, ValueError);
  EXPECT_EQ(DeviceScope::current(), kCpu0);
}

TEST(DeviceScopeTest, UnknownDeviceListsEveryLogicalDevice) {
  run_in_fresh_process([] {
    use_two_logical_cpus();
    FRESH_EXPECT_THROW(DeviceError, DeviceScope("/CPU:5"), "/CPU:5", "/CPU:0, /CPU:1");
  });
}

TEST(DeviceScopeTest, ScopesNestAndRestore) {
  run_in_fresh_process([] {
    use_two_logical_cpus();
    FRESH_CHECK(DeviceScope::current() == kCpu0);
    {
      DeviceScope outer("/CPU:1");
      FRESH_CHECK(DeviceScope::current() == kCpu1);
      FRESH_CHECK(Tensor::zeros({4}).device() == kCpu1);
      {
        DeviceScope inner("/device:CPU:0");
        FRESH_CHECK(DeviceScope::current() == kCpu0);
        FRESH_CHECK(Tensor::zeros({4}).device() == kCpu0);
        {
          DeviceScope innermost(kCpu1);
          FRESH_CHECK(DeviceScope::current() == kCpu1);
        }
        FRESH_CHECK(DeviceScope::current() == kCpu0);
      }
      FRESH_CHECK(DeviceScope::current() == kCpu1);
      // A failed inner scope does not disturb the outer one.
      FRESH_EXPECT_THROW(DeviceError, DeviceScope("/CPU:2"));
      FRESH_CHECK(DeviceScope::current() == kCpu1);
    }
    FRESH_CHECK(DeviceScope::current() == kCpu0);
    FRESH_CHECK(Tensor::zeros({4}).device() == kCpu0);
  });
}

TEST(DeviceScopeTest, ScopesArePerThread) {
  run_in_fresh_process([] {
    use_two_logical_cpus();
    DeviceScope scope("/CPU:1");
    Device seen_by_other;
    Device tensor_of_other;
    std::thread other([&] {
      seen_by_other = DeviceScope::current();
      tensor_of_other = Tensor::zeros({4}).device();
    });
    other.join();
    FRESH_CHECK_MSG(seen_by_other == kCpu0, seen_by_other.to_string());
    FRESH_CHECK(tensor_of_other == kCpu0);

    // A scope entered on another thread does not leak into this one.
    Device inside_other;
    std::thread scoped([&] {
      DeviceScope own("/CPU:0");
      inside_other = DeviceScope::current();
    });
    scoped.join();
    FRESH_CHECK(inside_other == kCpu0);
    FRESH_CHECK(DeviceScope::current() == kCpu1);
  });
}

TEST(DeviceScopeTest, ModelBuiltInAScopeLivesOnItsDevice) {
  run_in_fresh_process([] {
    use_two_logical_cpus();
    Sequential model = [] {
      DeviceScope scope("/CPU:1");
      return Sequential({layers::Input({3}), layers::Dense(2)});
    }();
    FRESH_CHECK(model.device() == kCpu1);
    model.compile(optimizers::SGD(), "mse");
    const size_t before = config::experimental::get_memory_info("CPU:1").current;
    FRESH_CHECK(before > 0);  // the weights are there
    Tensor x = Tensor::full({8, 3}, 0.5f), y = Tensor::full({8, 2}, 1.0f);
    FitOptions options;
    options.batch_size = 4;
    options.verbose = 0;
    model.fit(x, y, options);
    const Tensor out = model.predict(x);
    FRESH_CHECK(out.shape() == Shape({8, 2}));
    for (const Tensor& w : model.get_weights()) FRESH_CHECK(w.device() == kCpu1);
  });
}

}  // namespace
}  // namespace kerosene
