// The dependency arrows of src/ run one way (README, Layout): strategies drive the executor and
// the executor knows no strategy (src/train includes nothing from src/distribute); collectives
// reach a device through the backend interface (src/distribute includes nothing of the CUDA
// backend's own). A file that breaks a rule is named with the line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace kerosene {
namespace {

namespace fs = std::filesystem;

/// "file:line: #include ..." for every include in src/<dir> of a header under one of `banned`.
std::vector<std::string> includes_of(const std::string& dir, const std::vector<std::string>& banned) {
  std::vector<std::string> found;
  const fs::path root = fs::path(KEROSENE_SOURCE_DIR) / "src" / dir;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path());
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      if (line.rfind("#include \"", 0) != 0) continue;
      for (const auto& prefix : banned) {
        if (line.compare(10, prefix.size(), prefix) == 0) {
          found.push_back(fs::relative(entry.path(), KEROSENE_SOURCE_DIR).string() + ":" + std::to_string(number) +
                          ": " + line);
        }
      }
    }
  }
  return found;
}

TEST(LayeringTest, TheExecutorKnowsNoStrategy) {
  const auto found = includes_of("train", {"distribute/"});
  EXPECT_TRUE(found.empty()) << "src/train must not include src/distribute (use train/distribution.h):\n"
                             << ::testing::PrintToString(found);
}

TEST(LayeringTest, CollectivesReachDevicesThroughTheBackendInterface) {
  const auto found = includes_of("distribute", {"backends/cuda/", "backends/cuda_plugin/", "backends/cpu/"});
  EXPECT_TRUE(found.empty()) << "src/distribute must reach devices through backends/backend.h:\n"
                             << ::testing::PrintToString(found);
}

}  // namespace
}  // namespace kerosene
