// config::experimental::enable_tensor_float_32_execution: TensorFlow's default (on), toggling,
// and NVIDIA_TF32_OVERRIDE=0 turning it off underneath without changing what the getter says.
// Each body runs in a fresh process: the default is only observable before anyone sets it, and
// the override is read once per process.
#include <gtest/gtest.h>

#include <cstdlib>

#include "cli_util.h"
#include "kerosene/kerosene.h"
#include "runtime/tensor_float_32.h"

namespace kerosene {
namespace {

using test_util::run_in_fresh_process;
namespace ex = config::experimental;

TEST(TensorFloat32Test, OnByDefaultAndToggles) {
  run_in_fresh_process([] {
    unsetenv("NVIDIA_TF32_OVERRIDE");  // ctest sets it for the suite (see CMakeLists.txt)
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

}  // namespace
}  // namespace kerosene
