// Sharding among workers: shards differ by at most one row, none is left out, and every step's
// global batch counts the rows every worker really has.
#include <gtest/gtest.h>

#include "train/sharding.h"

namespace kerosene::train {
namespace {

TEST(ShardingTest, ShardsCoverEveryRowAndDifferByAtMostOne) {
  const Sharding s(10, 3, 1);
  EXPECT_EQ(s.sizes, (std::vector<int64_t>{3, 3, 4}));
  EXPECT_EQ(s.largest(), 4);
  const Sharding one(7, 1, 0);
  EXPECT_EQ(one.sizes, (std::vector<int64_t>{7}));
  const Sharding few(1, 2, 0);  // fewer rows than workers: one shard is empty
  EXPECT_EQ(few.sizes, (std::vector<int64_t>{0, 1}));
}

TEST(ShardingTest, StepsStopAtTheShardsEndOrWrapAround) {
  EXPECT_EQ(step_rows(10, 0, 4, false), (std::pair<int64_t, int64_t>{0, 4}));
  EXPECT_EQ(step_rows(10, 2, 4, false), (std::pair<int64_t, int64_t>{8, 2}));
  EXPECT_EQ(step_rows(10, 3, 4, false), (std::pair<int64_t, int64_t>{10, 0}));  // used up
  EXPECT_EQ(step_rows(10, 3, 4, true), (std::pair<int64_t, int64_t>{2, 4}));    // around again
  EXPECT_EQ(step_rows(0, 5, 4, true), (std::pair<int64_t, int64_t>{0, 0}));
}

TEST(ShardingTest, TheGlobalBatchCountsEveryWorkersRows) {
  const Sharding s(509, 2, 0);  // 254 and 255 rows, 32 per worker and step
  EXPECT_EQ(global_rows(s, 0, 32, false), 64);
  EXPECT_EQ(global_rows(s, 7, 32, false), 30 + 31);
}

}  // namespace
}  // namespace kerosene::train
