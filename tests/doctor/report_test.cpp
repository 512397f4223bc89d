// The doctor's report as text (one line per check, the fix under a failure, then the verdict)
// and as JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_util.h"
#include "healthy_machine.h"

namespace kerosene::doctor {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(DoctorReportTest, TextHasOneLinePerCheckThenTheVerdict) {
  const Report r = diagnose(test::healthy_machine());
  const std::vector<std::string> lines = lines_of(r.to_text());
  ASSERT_EQ(lines.size(), r.checks.size() + 2);
  EXPECT_EQ(
      lines[1],
      "[ OK ] CUDA plugin loads: /src/build/libkerosene_cuda.so (CUDA runtime 13.0, cuBLAS 13.1.0, cuDNN 9.19.0)");
  EXPECT_EQ(lines[lines.size() - 2], "");
  EXPECT_EQ(lines.back(), "Training will run on /GPU:0 (NVIDIA H100 80GB HBM3)");
}

TEST(DoctorReportTest, AFailureHasItsFixIndentedOnTheNextLine) {
  const Report r = diagnose(test::machine_without_driver());
  const std::vector<std::string> lines = lines_of(r.to_text());
  auto failed = std::find_if(lines.begin(), lines.end(),
                             [](const std::string& l) { return l.rfind("[FAIL] NVIDIA kernel driver: ", 0) == 0; });
  ASSERT_NE(failed, lines.end()) << r.to_text();
  ASSERT_NE(failed + 1, lines.end());
  EXPECT_EQ((failed + 1)->rfind("       fix: install the NVIDIA driver", 0), 0u) << *(failed + 1);
  KEROSENE_EXPECT_CONTAINS(r.to_text(), "[SKIP] GPUs found: not checked");
  EXPECT_EQ(lines.back(), r.verdict);
}

TEST(DoctorReportTest, JsonCarriesEveryCheckAndTheVerdict) {
  const Report r = diagnose(test::machine_without_driver());
  const nlohmann::json j = nlohmann::json::parse(r.to_json());
  EXPECT_EQ(j["gpu_usable"], false);
  EXPECT_EQ(j["device"], "/CPU:0");
  EXPECT_EQ(j["verdict"], r.verdict);
  EXPECT_EQ(j["reason"], r.reason);
  EXPECT_EQ(j["fix"], r.fix);
  ASSERT_EQ(j["checks"].size(), r.checks.size());
  for (size_t i = 0; i < r.checks.size(); ++i) {
    EXPECT_EQ(j["checks"][i]["name"], r.checks[i].name);
    EXPECT_EQ(j["checks"][i]["result"], result_name(r.checks[i].result));
    EXPECT_EQ(j["checks"][i]["detail"], r.checks[i].detail);
  }
  EXPECT_EQ(j["checks"][2]["result"], "fail");
  EXPECT_TRUE(j["checks"][2].contains("fix"));
}

TEST(DoctorReportTest, JsonSurvivesTextThatIsNotUtf8) {
  Facts f = test::machine_without_driver();
  f.driver.library.error = "libcuda.so.1: cannot open \xff\xfe";
  EXPECT_NO_THROW(nlohmann::json::parse(diagnose(f).to_json()));
}

}  // namespace
}  // namespace kerosene::doctor
