// NCCL through the CUDA plugin: the library is loaded lazily by the plugin (so the plugin runs
// without it) and its version matches the build's; an all-reduce across GPUs where there are two.
#include <gtest/gtest.h>

#include <string>

#include "backends/cuda_plugin/plugin_loader.h"
#include "kerosene/kerosene.h"
#include "kerosene_build_info.h"

namespace kerosene {
namespace {

TEST(NcclTest, ThePluginLoadsNcclAndItsVersionMatchesTheBuild) {
  const auto& plugin = backends::cuda_plugin::plugin();
  if (!plugin.loaded) GTEST_SKIP() << "the CUDA plugin is not loaded here: " << plugin.load_error;
  int version = 0;
  if (plugin.api->nccl_version(&version) != backends::cuda_abi::kOk) {
    GTEST_SKIP() << "NCCL is not installed here: " << plugin.api->last_error();
  }
  // 2.28.9 -> 22809
  const std::string built = KEROSENE_BUILD_NCCL_VERSION;
  ASSERT_FALSE(built.empty());
  const int major = std::stoi(built), minor = std::stoi(built.substr(built.find('.') + 1));
  EXPECT_EQ(version / 10000, major) << version;
  EXPECT_EQ(version / 100 % 100, minor) << version;
  char id[128] = {};
  EXPECT_EQ(plugin.api->nccl_unique_id(id), backends::cuda_abi::kOk) << plugin.api->last_error();
}

TEST(NcclTest, MirroredGpusSumWithNccl) {
  if (config::list_logical_devices("GPU").size() < 2) {
    GTEST_SKIP() << "needs two GPUs; this machine has " << config::list_logical_devices("GPU").size()
                 << " (kerosene doctor: " << doctor::diagnose().verdict << ")";
  }
  distribute::MirroredStrategy strategy({"/GPU:0", "/GPU:1"});
  EXPECT_EQ(strategy.reduction(), "nccl");
  std::optional<Sequential> model;
  {
    auto scope = strategy.scope();
    model.emplace(Sequential({layers::Input({4}), layers::Dense(3, "softmax")}));
  }
  model->compile(optimizers::SGD(), "sparse_categorical_crossentropy");
  const auto history = model->fit(Tensor::full({64, 4}, 0.5f), Tensor::zeros({64}, DType::int32),
                                  {.batch_size = 32, .epochs = 2, .verbose = 0});
  EXPECT_LT(history.history.at("loss")[1], history.history.at("loss")[0]);
}

}  // namespace
}  // namespace kerosene
