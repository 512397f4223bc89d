// KEROSENE_PROFILE: a fit reports each layer's forward and backward time per step, the loss's
// and the optimizer's (train/step_profile.h), and nothing when it is not set.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "kerosene/kerosene.h"
#include "test_util.h"
#include "train/step_profile.h"

namespace kerosene {
namespace {

struct ProfileSetting {
  explicit ProfileSetting(const std::string& value) { setenv("KEROSENE_PROFILE", value.c_str(), 1); }
  ~ProfileSetting() { unsetenv("KEROSENE_PROFILE"); }
};

Sequential small_model() {
  utils::set_random_seed(3);
  Sequential m({layers::Input({6, 6, 1}), layers::Conv2D(4, 3, "relu"), layers::Flatten(), layers::Dense(3, "softmax")},
               "profiled");
  m.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
  return m;
}

void fit_steps(Sequential& m, int64_t rows, int batch) {
  std::vector<int32_t> labels(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>(i % 3);
  const Tensor x = Tensor::from_vector(test::uniform_values(rows * 36, 4), {rows, 6, 6, 1});
  m.fit(x, Tensor::from_vector(labels, {rows}), {.batch_size = batch, .epochs = 1, .verbose = 0});
}

TEST(StepProfileTest, JsonHasEveryLayerPerStep) {
  const auto path = std::filesystem::temp_directory_path() / "kerosene_step_profile_test.json";
  std::filesystem::remove(path);
  Sequential m = small_model();
  {
    ProfileSetting on(path.string());
    fit_steps(m, 20, 4);  // 5 steps
  }
  std::ifstream file(path);
  ASSERT_TRUE(file) << "no profile written to " << path;
  const nlohmann::json report = nlohmann::json::parse(file);
  EXPECT_EQ(report.at("model"), "profiled");
  EXPECT_EQ(report.at("steps"), 5);
  const auto& layers = report.at("layers");
  ASSERT_EQ(layers.size(), 3u);
  EXPECT_EQ(layers[0].at("name"), m.layers()[0].name());
  EXPECT_EQ(layers[2].at("name"), m.layers()[2].name());
  for (const auto& layer : layers) {
    EXPECT_GT(layer.at("forward_ms").get<double>(), 0.0) << layer.dump();
    EXPECT_GT(layer.at("backward_ms").get<double>(), 0.0) << layer.dump();
  }
  EXPECT_GT(report.at("optimizer_ms").get<double>(), 0.0);
  EXPECT_GT(report.at("loss_ms").get<double>(), 0.0);
  std::filesystem::remove(path);
}

TEST(StepProfileTest, OffUnlessAsked) {
  Sequential m = small_model();
  fit_steps(m, 8, 4);
  EXPECT_FALSE(m.state().profile.enabled);
  EXPECT_EQ(m.state().profile.steps, 0);
  {
    ProfileSetting on("1");
    train::begin_step_profile(m.state());
  }
  EXPECT_TRUE(m.state().profile.enabled);
  fit_steps(m, 8, 4);  // KEROSENE_PROFILE is unset again: this fit starts with profiling off
  EXPECT_EQ(m.state().profile.steps, 0);
}

TEST(StepProfileTest, TableNamesEachLayer) {
  Sequential m = small_model();
  {
    ProfileSetting on("1");
    testing::internal::CaptureStderr();
    fit_steps(m, 8, 4);
    const std::string table = testing::internal::GetCapturedStderr();
    EXPECT_NE(table.find("kerosene profile of \"profiled\" on /CPU:0: 2 training steps"), std::string::npos) << table;
    for (const auto& layer : m.layers()) EXPECT_NE(table.find(layer.name()), std::string::npos) << table;
    EXPECT_NE(table.find("optimizer"), std::string::npos) << table;
  }
}

}  // namespace
}  // namespace kerosene
