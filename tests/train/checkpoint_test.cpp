// ModelCheckpoint: Keras' filepath templates (Python's str.format), its checks, save_best_only
// in both directions, save_freq in batches, and files that load back.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <unistd.h>

#include "kerosene/callbacks.h"
#include "kerosene/error.h"
#include "kerosene/models.h"
#include "kerosene/sequential.h"
#include "train/python_format.h"

namespace kerosene {
namespace {

// A temporary as an lvalue: the hooks take Logs&, as Keras callbacks may change the logs.
template <class T>
T& lvalue(T&& t) {
  return t;
}

namespace fs = std::filesystem;
using train::FormatValue;
using train::python_format;

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("kerosene_ckpt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST(CheckpointFormatTest, FormatsFieldsAsPython) {
  const std::vector<std::pair<std::string, FormatValue>> f = {
      {"epoch", {3, true}}, {"val_loss", {0.12345, false}}, {"loss", {0.5, false}}, {"big", {12345.678, false}}};
  EXPECT_EQ(python_format("ckpt-{epoch:02d}-{val_loss:.2f}.keras", f), "ckpt-03-0.12.keras");
  EXPECT_EQ(python_format("{epoch}-{loss}", f), "3-0.5");
  EXPECT_EQ(python_format("{val_loss:.4e}", f), "1.2345e-01");
  EXPECT_EQ(python_format("{big:.3g}|{loss:g}", f), "1.23e+04|0.5");
  EXPECT_EQ(python_format("[{loss:>6.1f}][{loss:<6.2f}][{epoch:^5d}][{epoch:+d}]", f), "[   0.5][0.50  ][  3  ][+3]");
  EXPECT_EQ(python_format("{epoch:05d}{loss:08.3f}", f), "000030000.500");
  EXPECT_EQ(python_format("{{epoch}}-{loss:.0%}", f), "{epoch}-50%");
  EXPECT_EQ(python_format("{loss:.3}", f), "0.5");
  EXPECT_EQ(python_format("{val_loss}", {{"val_loss", {1e-05, false}}}), "1e-05");
}

TEST(CheckpointFormatTest, UnknownFieldNamesItAndTheKnownOnes) {
  try {
    python_format("m-{val_acc:.2f}.keras", {{"epoch", {1, true}}, {"loss", {0.1, false}}});
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("\"val_acc\""), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("epoch, loss"), std::string::npos) << e.what();
  }
  EXPECT_THROW(python_format("{loss:d}", {{"loss", {0.1, false}}}), ValueError);  // as Python: 'd' on a float
  EXPECT_THROW(python_format("{loss:.2q}", {{"loss", {0.1, false}}}), ValueError);
  EXPECT_THROW(python_format("{loss", {{"loss", {0.1, false}}}), ValueError);
  EXPECT_THROW(python_format("loss}", {{"loss", {0.1, false}}}), ValueError);
}

TEST(CheckpointTest, ChecksNamesModeAndSaveFreq) {
  EXPECT_THROW(callbacks::ModelCheckpoint("model.h5"), ValueError);
  EXPECT_THROW(callbacks::ModelCheckpoint("m.keras", {.save_weights_only = true}), ValueError);
  EXPECT_THROW(callbacks::ModelCheckpoint("m.weights.h5"), ValueError);
  EXPECT_THROW(callbacks::ModelCheckpoint("m.keras", {.mode = "up"}), ValueError);
  EXPECT_THROW(callbacks::ModelCheckpoint("m.keras", {.save_freq = "0"}), ValueError);
  EXPECT_THROW(callbacks::ModelCheckpoint("m.keras", {.save_freq = "10x"}), ValueError);
  EXPECT_NO_THROW(callbacks::ModelCheckpoint("m.keras", {.save_freq = "10"}));
  EXPECT_NO_THROW(callbacks::ModelCheckpoint("m.weights.h5", {.save_weights_only = true}));
}

Sequential small_model() {
  Sequential model({layers::Input({3}), layers::Dense(4, "relu"), layers::Dense(1)});
  model.compile(optimizers::SGD(), "mse");
  return model;
}

Logs logs_with(const std::string& name, double value) {
  Logs logs;
  logs.set(name, value);
  return logs;
}

TEST(CheckpointTest, SaveBestOnlyMinAndMaxWithKerasMessages) {
  const fs::path dir = fresh_dir("best");
  Sequential model = small_model();
  std::ostringstream out;
  callbacks::ModelCheckpoint min_ckpt((dir / "min-{epoch}.weights.h5").string(),
                                      {.verbose = 1, .save_best_only = true, .save_weights_only = true, .out = &out});
  min_ckpt.set_model(&model);
  min_ckpt.on_train_begin(lvalue(Logs{}));
  min_ckpt.on_epoch_end(0, lvalue(logs_with("val_loss", 0.5)));
  min_ckpt.on_epoch_end(1, lvalue(logs_with("val_loss", 0.6)));
  min_ckpt.on_epoch_end(2, lvalue(logs_with("val_loss", 0.25)));
  min_ckpt.on_epoch_end(3, lvalue(logs_with("loss", 0.1)));  // monitor missing: a warning, no file
  const std::string p1 = (dir / "min-1.weights.h5").string(), p3 = (dir / "min-3.weights.h5").string();
  EXPECT_EQ(min_ckpt.saved_files(), (std::vector<std::string>{p1, p3}));
  EXPECT_EQ(out.str(), "\nEpoch 1: val_loss improved from inf to 0.50000, saving model to " + p1 + "\n" +
                           "\nEpoch 2: val_loss did not improve from 0.50000\n" +
                           "\nEpoch 3: val_loss improved from 0.50000 to 0.25000, saving model to " + p3 + "\n" +
                           "WARNING: Can save best model only with val_loss available, skipping.\n");
  EXPECT_TRUE(fs::exists(p1) && fs::exists(p3));
  EXPECT_DOUBLE_EQ(min_ckpt.best(), 0.25);

  callbacks::ModelCheckpoint max_ckpt((dir / "max.keras").string(), {.monitor = "val_accuracy", .save_best_only = true});
  max_ckpt.set_model(&model);
  max_ckpt.on_train_begin(lvalue(Logs{}));
  max_ckpt.on_epoch_end(0, lvalue(logs_with("val_accuracy", 0.5)));
  max_ckpt.on_epoch_end(1, lvalue(logs_with("val_accuracy", 0.4)));
  max_ckpt.on_epoch_end(2, lvalue(logs_with("val_accuracy", 0.9)));
  EXPECT_EQ(max_ckpt.saved_files().size(), 2u);
  EXPECT_DOUBLE_EQ(max_ckpt.best(), 0.9);
  fs::remove_all(dir);
}

TEST(CheckpointTest, SavesEveryNBatchesAndFilesLoadBack) {
  const fs::path dir = fresh_dir("batches");
  utils::set_random_seed(7);
  Sequential model = small_model();
  Tensor x = Tensor::from_vector(std::vector<float>(32 * 3, 0.5f), Shape({32, 3}));
  Tensor y = Tensor::from_vector(std::vector<float>(32, 1.0f), Shape({32, 1}));
  auto weights_ckpt = std::make_shared<callbacks::ModelCheckpoint>(
      (dir / "sub" / "w-{epoch:02d}-{batch}.weights.h5").string(),
      callbacks::ModelCheckpoint::Options{.save_weights_only = true, .save_freq = "3"});
  auto model_ckpt = std::make_shared<callbacks::ModelCheckpoint>((dir / "model-{epoch}-{loss:.3f}.keras").string());
  model.fit(x, y, {.batch_size = 8, .epochs = 3, .verbose = 0, .callbacks = {weights_ckpt, model_ckpt}});
  // 4 batches an epoch, a save every 3 batches: after global batches 3, 6, 9, 12.
  ASSERT_EQ(weights_ckpt->saved_files().size(), 4u);
  EXPECT_EQ(fs::path(weights_ckpt->saved_files()[0]).filename(), "w-01-3.weights.h5");
  EXPECT_EQ(fs::path(weights_ckpt->saved_files()[1]).filename(), "w-02-2.weights.h5");
  EXPECT_EQ(fs::path(weights_ckpt->saved_files()[3]).filename(), "w-03-4.weights.h5");
  ASSERT_EQ(model_ckpt->saved_files().size(), 3u);

  // The last of each kind holds the final weights.
  Model loaded = models::load_model(model_ckpt->saved_files().back());
  Sequential other = small_model();
  other.load_weights(weights_ckpt->saved_files().back());
  const auto expected = model.get_weights();
  for (const Model* m : {static_cast<Model*>(&loaded), static_cast<Model*>(&other)}) {
    const auto got = m->get_weights();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].to_vector<float>(), expected[i].to_vector<float>());
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kerosene
