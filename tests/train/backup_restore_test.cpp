// BackupAndRestore: a fit interrupted (by an exception, or by SIGKILL in a child process) and
// started again with the same command ends with the weights of a fit never interrupted, bit
// for bit (Dropout, shuffling and Adam's state included); a corrupt backup is an IOError.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "cli_util.h"
#include "kerosene/callbacks.h"
#include "kerosene/config.h"
#include "kerosene/distribute.h"
#include "kerosene/error.h"
#include "kerosene/sequential.h"

extern char** environ;

namespace kerosene {
namespace {

namespace fs = std::filesystem;

struct Interrupted : std::runtime_error {
  Interrupted() : std::runtime_error("interrupted") {}
};

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("kerosene_backup_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

Sequential make_model() {
  utils::set_random_seed(1234);
  Sequential model({layers::Input({6}), layers::Dense(16, "relu"), layers::Dropout(0.3f), layers::Dense(3, "softmax")});
  model.compile(optimizers::Adam({.learning_rate = 0.01f}), "sparse_categorical_crossentropy", {"accuracy"});
  return model;
}

std::pair<Tensor, Tensor> make_data(int64_t rows) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> x(static_cast<size_t>(rows * 6));
  std::vector<int32_t> y(static_cast<size_t>(rows));
  for (auto& v : x) v = u(rng);
  for (int64_t i = 0; i < rows; ++i) y[static_cast<size_t>(i)] = x[static_cast<size_t>(i * 6)] > 0 ? (x[static_cast<size_t>(i * 6 + 1)] > 0 ? 2 : 1) : 0;
  return {Tensor::from_vector(x, Shape({rows, 6})), Tensor::from_vector(y, Shape({rows}))};
}

FitOptions fit_options(int epochs, std::vector<CallbackPtr> callbacks) {
  return {.batch_size = 8, .epochs = epochs, .verbose = 0, .callbacks = std::move(callbacks), .shuffle = true};
}

void expect_same_weights(const Sequential& a, const Sequential& b) {
  const auto wa = a.get_weights(), wb = b.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_EQ(wa[i].to_vector<float>(), wb[i].to_vector<float>()) << "weight " << i;
}

// Interrupts fit by throwing at (epoch, batch), after every other callback of that batch ran.
CallbackPtr interrupt_at(int at_epoch, int at_batch) {
  auto cb = std::make_shared<callbacks::LambdaCallback>();
  auto epoch = std::make_shared<int>(0);
  cb->on_epoch_begin_fn = [epoch](int e, const Logs&) { *epoch = e; };
  cb->on_batch_end_fn = [epoch, at_epoch, at_batch](int b, const Logs&) {
    if (*epoch == at_epoch && b == at_batch) throw Interrupted();
  };
  return cb;
}

void resume_matches_uninterrupted(const std::string& save_freq, int at_epoch, int at_batch, int expect_epoch,
                                  int expect_batch) {
  const auto [x, y] = make_data(60);  // 8 batches an epoch, the last one short
  Sequential reference = make_model();
  const History full = reference.fit(x, y, fit_options(3, {}));

  const fs::path dir = fresh_dir("resume_" + save_freq);
  {
    Sequential model = make_model();
    auto backup = std::make_shared<callbacks::BackupAndRestore>(dir.string(), save_freq);
    EXPECT_THROW(model.fit(x, y, fit_options(3, {backup, interrupt_at(at_epoch, at_batch)})), Interrupted);
    EXPECT_FALSE(backup->restored());
  }
  ASSERT_TRUE(fs::exists(dir / "latest.weights.h5"));
  ASSERT_TRUE(fs::exists(dir / "training_metadata.json"));
  Sequential model = make_model();
  auto backup = std::make_shared<callbacks::BackupAndRestore>(dir.string(), save_freq);
  const History resumed = model.fit(x, y, fit_options(3, {backup}));
  EXPECT_TRUE(backup->restored());
  EXPECT_EQ(backup->restored_epoch(), expect_epoch);
  EXPECT_EQ(backup->restored_batch(), expect_batch);
  expect_same_weights(model, reference);
  // The epoch resumed mid-way reports the whole epoch's means, as the uninterrupted run did.
  EXPECT_EQ(resumed.history.at("loss").back(), full.history.at("loss").back());
  EXPECT_EQ(resumed.history.at("accuracy").back(), full.history.at("accuracy").back());
  EXPECT_FALSE(fs::exists(dir)) << "delete_checkpoint: the backup goes when fit ends normally";
}

TEST(BackupAndRestoreTest, ResumesMidEpochFromABatchBackup) {
  // 8 batches an epoch, a backup every 3: after global batches 3, 6, 9, 12, the last one
  // 4 steps into epoch 1; the interruption comes after its batch 5.
  resume_matches_uninterrupted("3", 1, 5, 1, 4);
}

TEST(BackupAndRestoreTest, ResumesAtEpochBoundaryFromAnEpochBackup) {
  resume_matches_uninterrupted("epoch", 1, 5, 1, 0);
}

// Two mirrored replicas: the restore reaches both (weights, Adam's slots, dropout counters).
TEST(BackupAndRestoreTest, ResumesUnderAMirroredStrategy) {
  test_util::run_in_fresh_process([] {
    config::set_logical_device_configuration(config::list_physical_devices("CPU").at(0),
                                             std::vector<config::LogicalDeviceConfiguration>(2));
    distribute::MirroredStrategy strategy({"/CPU:0", "/CPU:1"});
    auto mirrored_model = [&] {
      auto scope = strategy.scope();
      return make_model();
    };
    const auto [x, y] = make_data(60);
    Sequential reference = mirrored_model();
    reference.fit(x, y, fit_options(3, {}));
    const fs::path dir = fresh_dir("mirrored");
    {
      Sequential model = mirrored_model();
      try {
        model.fit(x, y, fit_options(3, {std::make_shared<callbacks::BackupAndRestore>(dir.string(), "3"), interrupt_at(1, 5)}));
        FRESH_CHECK_MSG(false, "the interruption did not happen");
      } catch (const Interrupted&) {
      }
    }
    Sequential model = mirrored_model();
    auto backup = std::make_shared<callbacks::BackupAndRestore>(dir.string(), "3");
    model.fit(x, y, fit_options(3, {backup}));
    FRESH_CHECK(backup->restored());
    const auto wa = model.get_weights(), wb = reference.get_weights();
    for (size_t i = 0; i < wa.size(); ++i) FRESH_CHECK_MSG(wa[i].to_vector<float>() == wb[i].to_vector<float>(), "weight " + std::to_string(i));
  });
}

TEST(BackupAndRestoreTest, MetadataIsKerasLayout) {
  const auto [x, y] = make_data(16);
  const fs::path dir = fresh_dir("layout");
  Sequential model = make_model();
  auto backup = std::make_shared<callbacks::BackupAndRestore>(dir.string(), "epoch", /*delete_checkpoint=*/false);
  model.fit(x, y, fit_options(2, {backup}));
  std::ifstream in(dir / "training_metadata.json");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.rfind("{\"batch\":0,\"epoch\":2,\"kerosene\":{", 0), 0u) << text;
  // Restarting a finished run restores the end and trains no more.
  Sequential again = make_model();
  auto backup2 = std::make_shared<callbacks::BackupAndRestore>(dir.string(), "epoch", false);
  const History h = again.fit(x, y, fit_options(2, {backup2}));
  EXPECT_TRUE(backup2->restored());
  EXPECT_TRUE(h.epoch.empty());
  expect_same_weights(again, model);
  fs::remove_all(dir);
}

TEST(BackupAndRestoreTest, CorruptBackupIsAnIOErrorNamingTheFile) {
  const auto [x, y] = make_data(16);
  const fs::path dir = fresh_dir("corrupt");
  fs::create_directories(dir);
  auto expect_io_error_naming = [&](const std::string& file) {
    Sequential model = make_model();
    auto backup = std::make_shared<callbacks::BackupAndRestore>(dir.string(), "epoch", false);
    try {
      model.fit(x, y, fit_options(1, {backup}));
      ADD_FAILURE() << "expected IOError naming " << file;
    } catch (const IOError& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
  };
  std::ofstream(dir / "latest.weights.h5") << "not an HDF5 file";
  expect_io_error_naming("latest.weights.h5");

  // A whole backup, then its metadata truncated.
  fs::remove_all(dir);
  {
    Sequential model = make_model();
    model.fit(x, y, fit_options(1, {std::make_shared<callbacks::BackupAndRestore>(dir.string(), "epoch", false)}));
  }
  std::ofstream(dir / "training_metadata.json", std::ios::trunc) << "{\"epoch\": 1, \"ba";
  expect_io_error_naming("training_metadata.json");
  // Metadata without weights.
  fs::remove(dir / "latest.weights.h5");
  std::ofstream(dir / "training_metadata.json", std::ios::trunc) << "{\"epoch\": 1, \"batch\": 0}";
  expect_io_error_naming("training_metadata.json");
  fs::remove_all(dir);
}

// The child of the SIGKILL test (run by it through KEROSENE_BACKUP_CHILD_DIR): trains for long
// with a backup after every batch, until killed.
TEST(BackupAndRestoreKillTest, ChildTrainsUntilKilled) {
  const char* dir = std::getenv("KEROSENE_BACKUP_CHILD_DIR");
  if (!dir) GTEST_SKIP() << "run by BackupAndRestoreKillTest.KilledRunResumesToTheSameWeights";
  const auto [x, y] = make_data(200);
  Sequential model = make_model();
  model.fit(x, y, fit_options(20, {std::make_shared<callbacks::BackupAndRestore>(dir, "1", false)}));
}

TEST(BackupAndRestoreKillTest, KilledRunResumesToTheSameWeights) {
  if (std::getenv("KEROSENE_BACKUP_CHILD_DIR")) GTEST_SKIP() << "in the child";
  const fs::path dir = fresh_dir("kill");
  // A fresh process (not a fork of this one, whose thread pools a fork would not carry).
  const std::string filter = "--gtest_filter=BackupAndRestoreKillTest.ChildTrainsUntilKilled";
  std::string exe = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("KEROSENE_BACKUP_CHILD_DIR=" + dir.string());
  std::vector<char*> envp, argv = {exe.data(), const_cast<char*>(filter.c_str()), nullptr};
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  pid_t child = 0;
  ASSERT_EQ(posix_spawn(&child, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
  // Kill it at a random moment once the first backup exists (mid-write included).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(dir / "training_metadata.json") && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::mt19937 rng(std::random_device{}());
  std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 300000)(rng)));
  ::kill(child, SIGKILL);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(fs::exists(dir / "latest.weights.h5"));

  const auto [x, y] = make_data(200);
  Sequential model = make_model();
  auto backup = std::make_shared<callbacks::BackupAndRestore>(dir.string(), "1", false);
  model.fit(x, y, fit_options(20, {backup}));
  EXPECT_TRUE(backup->restored());
  Sequential reference = make_model();
  reference.fit(x, y, fit_options(20, {}));
  expect_same_weights(model, reference);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kerosene
