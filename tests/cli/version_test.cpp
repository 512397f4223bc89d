// `kerosene --version`: the version and what the build includes, as build_info() says.
#include <gtest/gtest.h>

#include <string>

#include "cli_util.h"
#include "kerosene/config.h"

namespace kerosene {
namespace {

using test_util::CommandResult;
using test_util::describe;
using test_util::run_cli;

TEST(CliVersionTest, PrintsTheVersionAndWhatTheBuildIncludes) {
  const CommandResult r = run_cli({"--version"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const config::BuildInfo b = config::build_info();
  KEROSENE_EXPECT_CONTAINS(r.out, "kerosene " + b.kerosene_version + "\n");
  EXPECT_FALSE(b.onednn_version.empty());
  KEROSENE_EXPECT_CONTAINS(r.out, "oneDNN: " + b.onednn_version);
  if (b.is_cuda_build) {
    KEROSENE_EXPECT_CONTAINS(r.out, "CUDA plugin: CUDA " + b.cuda_version + ", cuDNN " + b.cudnn_version);
  } else {
    KEROSENE_EXPECT_CONTAINS(r.out, "CUDA plugin: no CUDA plugin (");
  }
  if (b.is_mpi_build) {
    KEROSENE_EXPECT_CONTAINS(r.out, "MPI: yes, " + b.mpi_version);
  } else {
    KEROSENE_EXPECT_CONTAINS(r.out, "MPI: no (" + b.without_mpi_reason);
  }
  EXPECT_EQ(r.err, "");
}

TEST(CliVersionTest, IsListedInHelp) {
  const CommandResult r = run_cli({"--help"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.out, "--version");
}

}  // namespace
}  // namespace kerosene
