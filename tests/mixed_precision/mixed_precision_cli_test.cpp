// `kerosene train --mixed-precision`: the policy that ran is in --json, a bad value is refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends/cpu/precision_support.h"
#include "cli_util.h"

namespace kerosene {
namespace {

using test_util::describe;
using test_util::run_cli;

TEST(MixedPrecisionCliTest, JsonSaysWhichPolicyRan) {
  test_util::SmallMnist data;
  for (const char* flag : {"off", "bf16"}) {
    if (std::string(flag) == "bf16" && !backends::cpu::cpu_computes_in(backends::ComputePrecision::bfloat16)) continue;
    const auto r = run_cli({"train", "--model", "cnn", "--dataset", data.dir, "--steps-per-epoch", "2", "--json",
                            "--verbose", "0", "--device", "/CPU:0", "--mixed-precision", flag});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["dtype_policy"], std::string(flag) == "off" ? "float32" : "mixed_bfloat16") << r.out;
  }
}

TEST(MixedPrecisionCliTest, UnknownValueIsRefused) {
  const auto r = run_cli({"train", "--model", "mlp", "--mixed-precision", "fp8"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(r.crashed()) << describe(r);
  EXPECT_NE(r.err.find("--mixed-precision"), std::string::npos) << describe(r);
}

}  // namespace
}  // namespace kerosene
