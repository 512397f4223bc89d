// A barrier for the replicas' threads that can be aborted: when one replica fails (out of
// memory, a lost worker), the others must not wait for it forever. Waiters spin briefly (a
// replica step's rendezvous is microseconds apart when the replicas keep pace), then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>

namespace kerosene::distribute {

/// Thrown in the replicas still waiting when another replica aborted the barrier.
class ReplicaAborted : public std::runtime_error {
 public:
  ReplicaAborted() : std::runtime_error("another replica failed") {}
};

class ReplicaBarrier {
 public:
  explicit ReplicaBarrier(int count) : count_(count) {}

  void arrive_and_wait() {
    const uint64_t generation = generation_.load(std::memory_order_acquire);
    if (aborted_.load()) throw ReplicaAborted();
    if (waiting_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
      waiting_.store(0, std::memory_order_relaxed);
      {
        std::lock_guard lock(mutex_);
        generation_.fetch_add(1, std::memory_order_acq_rel);
      }
      cv_.notify_all();
      return;
    }
    for (int spin = 0; spin < 20000; ++spin) {
      if (generation_.load(std::memory_order_acquire) != generation) return;
      if (aborted_.load(std::memory_order_relaxed)) throw ReplicaAborted();
    }
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return generation_.load() != generation || aborted_.load(); });
    if (generation_.load() == generation) throw ReplicaAborted();
  }

  /// Wakes every waiter with ReplicaAborted, now and at every later arrival, until reset().
  void abort() {
    {
      std::lock_guard lock(mutex_);
      aborted_ = true;
    }
    cv_.notify_all();
  }

  /// Makes the barrier usable again; only when no thread is inside it.
  void reset() {
    std::lock_guard lock(mutex_);
    aborted_ = false;
    waiting_ = 0;
  }

 private:
  const int count_;
  std::atomic<int> waiting_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> aborted_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace kerosene::distribute
