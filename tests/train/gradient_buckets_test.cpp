// Gradient buckets: the step's final send must say `last`, because that is where NCCL's stream
// is joined before the optimizer reads the sums (issue 9, defect 1). The CPU's collectives are
// synchronous, so only the bucket decisions themselves can show a missing join here.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "kerosene/kerosene.h"
#include "train/gradient_buckets.h"
#include "train/model_state.h"

namespace kerosene::train {
namespace {

struct Send {
  size_t tensors;
  bool last;
};

// The sends of one real training step of `model`, as a replica's all-reduce sees them.
std::vector<Send> sends_of_one_step(Sequential& model, const Shape& x_shape) {
  model.compile(optimizers::SGD(), "sparse_categorical_crossentropy");
  Tensor x = Tensor::zeros(x_shape);
  Tensor y = Tensor::zeros(Shape({x_shape[0]}), DType::int32);
  std::vector<Send> sends;
  model.state().queue_train_step({x}, {y}, x_shape[0], [&](const std::vector<Tensor*>& bucket, bool last) {
    sends.push_back({bucket.size(), last});
  });
  StepTotals totals;
  model.state().collect_step(totals);
  return sends;
}

// Input(784) -> Dense(2048) -> Dense(10): backward fills a bucket with Dense(10) (80 KB), then
// Dense(2048)'s 6.4 MB push it past 4 MiB and it is sent; nothing is left for a final flush.
// Before the fix that full bucket went out with last=false and no join followed.
TEST(GradientBucketsTest, MlpWhoseFirstLayerFillsTheBucketEndsWithALastSend) {
  Sequential model({layers::Input({784}), layers::Dense(2048, "relu"), layers::Dense(10, "softmax")});
  const std::vector<Send> sends = sends_of_one_step(model, Shape({2, 784}));
  ASSERT_FALSE(sends.empty());
  EXPECT_TRUE(sends.back().last) << "the step's final bucket must join the all-reduces";
  size_t tensors = 0, lasts = 0;
  for (const Send& s : sends) {
    tensors += s.tensors;
    lasts += s.last ? 1 : 0;
  }
  EXPECT_EQ(tensors, 4u) << "every gradient is sent exactly once";
  EXPECT_EQ(lasts, 1u);
}

TEST(GradientBucketsTest, SmallModelIsOneLastBucket) {
  Sequential model({layers::Input({8}), layers::Dense(4, "relu"), layers::Dense(3, "softmax")});
  const std::vector<Send> sends = sends_of_one_step(model, Shape({2, 8}));
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].tensors, 4u);
  EXPECT_TRUE(sends[0].last);
}

TEST(GradientBucketsTest, PlanOfTheMlpLayout) {
  // Layers: Dense(2048) (784*2048 + 2048 floats), Dense(10) (2048*10 + 10 floats).
  const std::vector<size_t> bytes = {(784 * 2048 + 2048) * 4, (2048 * 10 + 10) * 4};
  const auto plan = plan_gradient_buckets(bytes, kGradientBucketBytes);
  EXPECT_EQ(plan[1], BucketSend::none);
  EXPECT_EQ(plan[0], BucketSend::last);
}

TEST(GradientBucketsTest, LayersWithoutVariablesNeverSend) {
  const auto plan = plan_gradient_buckets({0, 100, 0, 0}, 64);
  EXPECT_EQ(plan, (std::vector<BucketSend>{BucketSend::none, BucketSend::last, BucketSend::none, BucketSend::none}));
  const auto empty = plan_gradient_buckets({0, 0}, 64);
  EXPECT_EQ(empty, (std::vector<BucketSend>{BucketSend::none, BucketSend::none}));
}

// Any layout: every layer with variables is in exactly one send (sends happen only at layers
// with variables), and the final send in backward order, and only it, is `last`.
TEST(GradientBucketsTest, EveryLayoutEndsWithExactlyOneLastSend) {
  std::mt19937 rng(9);
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t layers = 1 + rng() % 8, limit = 1 + rng() % 200;
    std::vector<size_t> bytes(layers);
    for (auto& b : bytes) b = rng() % 3 == 0 ? 0 : rng() % 300;
    const auto plan = plan_gradient_buckets(bytes, limit);
    int final_send = -1, lasts = 0;
    bool pending = false;
    for (int i = static_cast<int>(layers) - 1; i >= 0; --i) {
      if (bytes[i] > 0) pending = true;
      if (plan[i] != BucketSend::none) {
        ASSERT_GT(bytes[i], 0u) << "trial " << trial << ": a send at a layer without variables";
        final_send = i;
        pending = false;
      }
      lasts += plan[i] == BucketSend::last ? 1 : 0;
    }
    EXPECT_FALSE(pending) << "trial " << trial << ": gradients left unsent";
    if (final_send < 0) {
      EXPECT_EQ(lasts, 0);
    } else {
      EXPECT_EQ(plan[final_send], BucketSend::last) << "trial " << trial;
      EXPECT_EQ(lasts, 1) << "trial " << trial;
    }
  }
}

}  // namespace
}  // namespace kerosene::train
