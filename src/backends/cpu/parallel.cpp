#include "backends/cpu/parallel.h"

#include <omp.h>

#include <chrono>

#include "runtime/threading.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define KEROSENE_PAUSE() _mm_pause()
#else
#define KEROSENE_PAUSE() std::this_thread::yield()
#endif

namespace kerosene::backends::cpu {
namespace {

// How long a helper spins for the next op before it sleeps.
constexpr auto kSpinTime = std::chrono::microseconds(300);
// next_ between jobs: any claim fails.
constexpr int kClosed = 1 << 30;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ParallelTeam& ParallelTeam::instance() {
  static ParallelTeam* team = new ParallelTeam(runtime::intra_op_threads() - 1);
  return *team;
}

ParallelTeam::ParallelTeam(int helpers) {
  for (int i = 0; i < helpers; ++i) helpers_.emplace_back([this] { helper_loop(); });
  for (auto& t : helpers_) t.detach();
}

void ParallelTeam::claim_chunks() {
  for (int c = next_.fetch_add(1); c < chunks_.load(); c = next_.fetch_add(1)) {
    fn_.load()(ctx_.load(), c);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ParallelTeam::run_erased(int chunks, void (*fn)(void*, int), void* ctx) {
  if (runtime::thread_op_threads_cap() == 1) {  // a CPU replica: its own core only
    for (int c = 0; c < chunks; ++c) fn(ctx, c);
    return;
  }
  std::unique_lock lock(busy_, std::try_to_lock);
  const int64_t start = now_ns();
  if (chunks <= 1 || helpers_.empty() || !lock.owns_lock() || start < solo_until_ns_) {
    for (int c = 0; c < chunks; ++c) fn(ctx, c);
    return;
  }
  // Order matters: a helper that saw an older epoch may still claim from next_, so the job is
  // complete before next_ opens, and next_ is closed again before this returns.
  fn_ = fn;
  ctx_ = ctx;
  chunks_ = chunks;
  done_.store(0);
  next_.store(0);
  epoch_.fetch_add(1);
  if (sleeping_.load() > 0) {
    std::lock_guard sleep_lock(sleep_mutex_);
    sleep_cv_.notify_all();
  }
  claim_chunks();
  // Only chunks a helper has started remain; wait for them.
  const int64_t own_done = now_ns();
  for (int spins = 0; done_.load(std::memory_order_acquire) < chunks; ++spins) {
    if (spins < 4096) {
      KEROSENE_PAUSE();
    } else {
      std::this_thread::yield();  // the helper may be waiting for this core
    }
  }
  next_.store(kClosed);
  while (in_flight_.load() > 0) std::this_thread::yield();
  track_contention(start, own_done, now_ns());
}

void ParallelTeam::track_contention(int64_t start, int64_t own_done, int64_t end) {
  // Decayed sums of time spent working and time spent waiting for helpers. A descheduled
  // helper makes the caller wait a scheduler slice (milliseconds) for a chunk of tens of
  // microseconds; waiting twice as long as working means that is happening: go solo for a
  // while. (At half, uneven but healthy chunks tripped it and cost ~10% on an idle machine.)
  constexpr double kDecay = 0.98;
  constexpr int64_t kSoloNs = 200'000'000;
  worked_ns_ = worked_ns_ * kDecay + static_cast<double>(own_done - start);
  waited_ns_ = waited_ns_ * kDecay + static_cast<double>(end - own_done);
  if (waited_ns_ > 2.0 * worked_ns_ && worked_ns_ > 0) {
    solo_until_ns_ = end + kSoloNs;
    waited_ns_ = worked_ns_ = 0;
  }
}

void ParallelTeam::helper_loop() {
  omp_set_num_threads(1);  // oneDNN calls made from this thread stay on it
  uint64_t seen = epoch_.load();
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    int spins = 0;
    while (epoch_.load() == seen) {
      KEROSENE_PAUSE();
      if (++spins % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
        sleeping_.fetch_add(1);
        std::unique_lock lock(sleep_mutex_);
        sleep_cv_.wait(lock, [&] { return epoch_.load() != seen; });
        sleeping_.fetch_sub(1);
        break;
      }
    }
    const uint64_t epoch = epoch_.load();
    seen = epoch;
    in_flight_.fetch_add(1);
    if (epoch_.load() == epoch) claim_chunks();
    in_flight_.fetch_sub(1);
  }
}

}  // namespace kerosene::backends::cpu
