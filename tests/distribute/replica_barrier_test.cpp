// ReplicaBarrier: replicas meet at every generation, whether the waiter is still spinning or
// already asleep when the last one arrives, and abort() frees a waiter in either state.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "distribute/replica_barrier.h"

namespace kerosene::distribute {
namespace {

using namespace std::chrono_literals;

TEST(ReplicaBarrierTest, NoReplicaPassesAGenerationBeforeAllArrive) {
  constexpr int kReplicas = 3, kRounds = 2000;
  ReplicaBarrier barrier(kReplicas);
  std::atomic<int> arrived{0};
  std::atomic<bool> early{false};
  std::vector<std::thread> threads;
  for (int r = 0; r < kReplicas; ++r) {
    threads.emplace_back([&] {
      for (int round = 0; round < kRounds; ++round) {
        arrived.fetch_add(1);
        barrier.arrive_and_wait();
        // Everyone of this round has arrived before anyone leaves it.
        if (arrived.load() < (round + 1) * kReplicas) early = true;
        barrier.arrive_and_wait();  // nobody starts the next round before all have checked
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_FALSE(early.load());
  EXPECT_EQ(arrived.load(), kReplicas * kRounds);
}

TEST(ReplicaBarrierTest, ASleepingWaiterWakesWhenTheLastArrives) {
  ReplicaBarrier barrier(2);
  auto waiter = std::async(std::launch::async, [&] { barrier.arrive_and_wait(); });
  // Far beyond the spin window: the waiter is asleep on the condition variable by now.
  EXPECT_EQ(waiter.wait_for(20ms), std::future_status::timeout);
  barrier.arrive_and_wait();
  EXPECT_EQ(waiter.wait_for(5s), std::future_status::ready);
  waiter.get();
}

TEST(ReplicaBarrierTest, AbortFreesASpinningAndASleepingWaiter) {
  for (auto delay : {0ms, 20ms}) {  // within the spin window, and after it
    ReplicaBarrier barrier(2);
    auto waiter = std::async(std::launch::async, [&] { barrier.arrive_and_wait(); });
    std::this_thread::sleep_for(delay);
    barrier.abort();
    ASSERT_EQ(waiter.wait_for(5s), std::future_status::ready) << "delay " << delay.count() << " ms";
    EXPECT_THROW(waiter.get(), ReplicaAborted);
    EXPECT_THROW(barrier.arrive_and_wait(), ReplicaAborted) << "an arrival after abort() fails at once";

    barrier.reset();  // usable again
    auto again = std::async(std::launch::async, [&] { barrier.arrive_and_wait(); });
    barrier.arrive_and_wait();
    ASSERT_EQ(again.wait_for(5s), std::future_status::ready);
    again.get();
  }
}

}  // namespace
}  // namespace kerosene::distribute
