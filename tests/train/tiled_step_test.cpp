// The CPU's tiled training step (ModelState::tile_rows): forward, loss and backward a few rows
// at a time with the weight gradients summed is the same step as the whole batch at once.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "kerosene/kerosene.h"
#include "runtime/threading.h"
#include "test_util.h"
#include "train/model_state.h"

namespace kerosene {
namespace {

struct TileRows {
  explicit TileRows(const char* rows) { setenv("KEROSENE_CPU_TILE_ROWS", rows, 1); }
  ~TileRows() { unsetenv("KEROSENE_CPU_TILE_ROWS"); }
};

Sequential cnn(uint64_t seed) {
  utils::set_random_seed(seed);
  Sequential m({layers::Input({8, 8, 1}), layers::Conv2D(8, 3, "relu"), layers::MaxPooling2D(2), layers::Flatten(),
                layers::Dense(16, "relu"), layers::Dense(3, "softmax")});
  m.compile(optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
  return m;
}

struct Data {
  Tensor x, y;
};

Data data(int64_t n) {
  std::vector<int32_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) labels[static_cast<size_t>(i)] = static_cast<int32_t>((i * 5 + 1) % 3);
  return {Tensor::from_vector(test::uniform_values(n * 64, 7), {n, 8, 8, 1}), Tensor::from_vector(labels, {n})};
}

History fit(Sequential& m, const Data& d, const char* tile_rows) {
  TileRows tiles(tile_rows);
  FitOptions o{.batch_size = 24, .epochs = 3, .verbose = 0};
  return m.fit(d.x, d.y, o);
}

TEST(TiledStepTest, TilesGiveTheWholeBatchStep) {
  const Data d = data(60);  // batches of 24, 24 and 12: tiles of 6 (4 per batch) and of 6 (2)
  Sequential whole = cnn(11), tiled = cnn(11);
  EXPECT_EQ(tiled.state().tile_rows(24), 0);  // KEROSENE_CPU_TILE_ROWS unset: 24 rows are too few
  const History a = fit(whole, d, "0"), b = fit(tiled, d, "6");
  {
    TileRows tiles("6");
    EXPECT_EQ(tiled.state().tile_rows(24), 6);
    EXPECT_EQ(tiled.state().tile_rows(12), 6);
    EXPECT_EQ(tiled.state().tile_rows(11), 0);  // fewer than two tiles
  }
  for (const char* key : {"loss", "accuracy"}) {
    for (size_t e = 0; e < 3; ++e) EXPECT_NEAR(a.history.at(key)[e], b.history.at(key)[e], 2e-6) << key << e;
  }
  const auto wa = whole.get_weights(), wb = tiled.get_weights();
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) {
    const auto va = wa[i].to_vector<float>(), vb = wb[i].to_vector<float>();
    for (size_t k = 0; k < va.size(); ++k) ASSERT_NEAR(va[k], vb[k], 2e-5) << "weight " << i << "[" << k << "]";
  }
}

TEST(TiledStepTest, ChoosesTilesThatFitTheCacheAndDivideTheBatch) {
  utils::set_random_seed(1);
  Sequential m({layers::Input({28, 28, 1}), layers::Conv2D(32, 3, "relu"), layers::MaxPooling2D(2), layers::Flatten(),
                layers::Dense(10, "softmax")});
  m.compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  const int64_t tile = m.state().tile_rows(128);
  EXPECT_GE(tile, 8);
  EXPECT_LE(tile, 64);
  EXPECT_EQ(128 % tile, 0) << tile;
  // Its convolution and pooling run fused (the convolution's output is never written), so its
  // rows are small next to the Dense head's 5408x10 weights: tiles grow until they outweigh
  // them 8 times (27 rows, then 16 to divide 128). Unfused, the convolution's output keeps
  // them at the minimum, 8 rows a thread (16 with two): never larger than the fused tiles.
  EXPECT_GE(tile, 16);
  setenv("KEROSENE_FUSE_CONV_POOL", "0", 1);
  Sequential unfused({layers::Input({28, 28, 1}), layers::Conv2D(32, 3, "relu"), layers::MaxPooling2D(2),
                      layers::Flatten(), layers::Dense(10, "softmax")});
  unfused.compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  const int64_t unfused_tile = unfused.state().tile_rows(128);
  EXPECT_GE(unfused_tile, 8);
  EXPECT_EQ(128 % unfused_tile, 0) << unfused_tile;
  EXPECT_LE(unfused_tile, tile);
  if (runtime::intra_op_threads() == 1) {
    EXPECT_EQ(unfused_tile, 8);
  }
  unsetenv("KEROSENE_FUSE_CONV_POOL");
  // A multilayer perceptron's weights outweigh its rows' activations: untiled at any batch.
  Sequential mlp({layers::Input({28, 28, 1}), layers::Flatten(), layers::Dense(128, "relu"), layers::Dense(10, "softmax")});
  mlp.compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  EXPECT_EQ(mlp.state().tile_rows(128), 0);
  EXPECT_EQ(mlp.state().tile_rows(512), 0);
  EXPECT_EQ(mlp.state().tile_rows(4096), 0);
}

TEST(TiledStepTest, BatchNormalizationNeedsTheWholeBatch) {
  utils::set_random_seed(2);
  Sequential m({layers::Input({8, 8, 1}), layers::Conv2D(8, 3), layers::BatchNormalization(), layers::Flatten(),
                layers::Dense(3, "softmax")});
  m.compile(optimizers::Adam(), "sparse_categorical_crossentropy");
  TileRows tiles("4");
  EXPECT_EQ(m.state().tile_rows(64), 0);
}

}  // namespace
}  // namespace kerosene
