// config::experimental::enable_tensor_float_32_execution: TensorFlow's default (on), toggling,
// and NVIDIA_TF32_OVERRIDE=0 turning it off underneath without changing what the getter says.
// Each body runs in a fresh process: the default is only observable before anyone sets it, and
// the override is read once per process.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "backends/backend.h"
#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "runtime/tensor_float_32.h"

namespace kerosene {
namespace {

using test_util::run_in_fresh_process;
namespace ex = config::experimental;

TEST(TensorFloat32Test, OnByDefaultAndToggles) {
  run_in_fresh_process([] {
    unsetenv("NVIDIA_TF32_OVERRIDE");  // tests/tf32_off.cpp sets it for this binary
    FRESH_CHECK(ex::tensor_float_32_execution_enabled());
    FRESH_CHECK(runtime::tensor_float_32_in_effect());
    ex::enable_tensor_float_32_execution(false);
    FRESH_CHECK(!ex::tensor_float_32_execution_enabled());
    FRESH_CHECK(!runtime::tensor_float_32_in_effect());
    ex::enable_tensor_float_32_execution(true);
    FRESH_CHECK(ex::tensor_float_32_execution_enabled());
    FRESH_CHECK(runtime::tensor_float_32_in_effect());
    FRESH_CHECK(!config::is_runtime_initialized());  // a plain setting: it initializes nothing
  });
}

TEST(TensorFloat32Test, NvidiaOverrideZeroTurnsItOffUnderneath) {
  run_in_fresh_process([] {
    setenv("NVIDIA_TF32_OVERRIDE", "0", 1);
    FRESH_CHECK(ex::tensor_float_32_execution_enabled());  // the setting, as TensorFlow reports it
    FRESH_CHECK(!runtime::tensor_float_32_in_effect());
    ex::enable_tensor_float_32_execution(true);
    FRESH_CHECK(!runtime::tensor_float_32_in_effect());
  });
}

TEST(TensorFloat32Test, OtherOverrideValuesLeaveTheSettingInCharge) {
  run_in_fresh_process([] {
    setenv("NVIDIA_TF32_OVERRIDE", "1", 1);
    FRESH_CHECK(runtime::tensor_float_32_in_effect());
    ex::enable_tensor_float_32_execution(false);
    FRESH_CHECK(!runtime::tensor_float_32_in_effect());
  });
}

TEST(TensorFloat32Test, TheSuiteRunsWithItOff) {
  EXPECT_FALSE(runtime::tensor_float_32_in_effect())
      << "tests/tf32_off.cpp sets NVIDIA_TF32_OVERRIDE=0 unless the environment has another value: "
      << (std::getenv("NVIDIA_TF32_OVERRIDE") ? std::getenv("NVIDIA_TF32_OVERRIDE") : "(unset)");
}

// The CPU computes float32 in float32 whatever the setting: the same bits either way, where
// TF32 would round 1.0001 to 1 (TensorFlow's example: a row of 1.0001 times a column of ones).
TEST(TensorFloat32Test, TheCpuIgnoresIt) {
  backends::Backend& cpu = backends::backend_for(DeviceType::CPU);
  const Tensor a = Tensor::from_vector(std::vector<float>(1024, 1.0001f), {1, 1024});
  const Tensor b = Tensor::from_vector(std::vector<float>(1024, 1.0f), {1024, 1});
  const bool before = ex::tensor_float_32_execution_enabled();
  std::vector<float> results;
  for (bool enabled : {true, false}) {
    ex::enable_tensor_float_32_execution(enabled);
    Tensor c = Tensor::from_vector(std::vector<float>{0.0f}, {1, 1});
    cpu.matmul(a, false, b, false, nullptr, c, false, backends::ActivationKind::linear,
               backends::ComputePrecision::float32);
    results.push_back(c.to_vector<float>()[0]);
  }
  ex::enable_tensor_float_32_execution(before);
  EXPECT_EQ(results[0], results[1]);
  EXPECT_NEAR(results[0], 1024.1, 1e-2);  // full float32, not TF32's 1024
}

}  // namespace
}  // namespace kerosene
