// A barrier for the replicas' threads that can be aborted: when one replica fails (out of
// memory, a lost worker), the others must not wait for it forever.
//
// Waiters spin for up to kSpin before they sleep. Replicas that keep pace arrive tens of
// microseconds apart (measured on the 2-vCPU VM, CNN at a per-replica batch of 32: 17-70 us on
// average), and a waiter that slept took 30-38 us to wake there (a halted vCPU's wake-up).
// The earlier fixed count of 20,000 spins ran out before most arrivals (1,607 of 2,400 waits
// slept in one epoch); spinning by the clock makes a wait as long as the other replica's lag.
// Past the first microseconds the spin yields the core, so that replicas sharing a core (more
// threads than cores) lose little to it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <thread>

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
    const auto start = std::chrono::steady_clock::now();
    for (uint32_t spin = 1;; ++spin) {
      if (generation_.load(std::memory_order_acquire) != generation) return;
      if (aborted_.load(std::memory_order_relaxed)) throw ReplicaAborted();
      if (spin % 64 != 0) continue;
      const auto waited = std::chrono::steady_clock::now() - start;
      if (waited > kSpin) break;
      if (waited > kSpinWithoutYield) std::this_thread::yield();
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
  static constexpr std::chrono::microseconds kSpin{500}, kSpinWithoutYield{20};

  const int count_;
  std::atomic<int> waiting_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> aborted_{false};
  std::mutex mutex_;
  std::condition_variable cv_;
};

}  // namespace kerosene::distribute
