// Where kerosene looks for its CUDA plugin (plugin_loader.h): relative to the file its code is in
// (here the test program, which links the static library), the build directory only because this
// program is inside it, and the dynamic loader's search last. tests/package checks an installed
// copy.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "backends/cuda_plugin/plugin_loader.h"
#include "kerosene_build_info.h"

namespace kerosene {
namespace {

namespace plugin = backends::cuda_plugin;

TEST(PluginSearchTest, RelativeToTheProgramThenInstallDirThenBuildTreeThenTheLoader) {
  const std::vector<std::string> paths = plugin::search_path();
  ASSERT_GE(paths.size(), 3u);
  const std::string name = plugin::plugin_file_name();
  const std::string build_dir = KEROSENE_BUILD_DIR;
  // This program lies in the build directory: beside it first.
  EXPECT_EQ(paths.front(), build_dir + "/" + name);
  const std::string from_bin = (std::filesystem::path(build_dir).parent_path() / KEROSENE_INSTALL_LIBDIR / "kerosene" /
                                name).string();
  EXPECT_NE(std::find(paths.begin(), paths.end(), from_bin), paths.end()) << "<dir>/../<libdir>/kerosene/ missing";
  const std::string installed = std::string(KEROSENE_INSTALL_PLUGIN_DIR) + "/" + name;
  EXPECT_NE(std::find(paths.begin(), paths.end(), installed), paths.end()) << "the configured install dir missing";
  EXPECT_EQ(paths.back(), name) << "the dynamic loader's search comes last";
  EXPECT_EQ(std::count(paths.begin(), paths.end(), build_dir + "/" + name), 1);
  EXPECT_EQ(plugin::installed_plugin_dir(), KEROSENE_BUILD_PLUGIN_DIR);
}

}  // namespace
}  // namespace kerosene
