// ParallelTeam: the calling thread plus helper threads that split an op into chunks.
//
// Why not OpenMP's parallel regions: their barriers wait for every thread, so when another
// process takes a core, each op waits for the descheduled thread's time slice (measured here:
// a one-second MLP epoch became 20 s). Here chunks are claimed from an atomic counter, so the
// caller never waits for a chunk nobody has started: if a helper is not running, the caller
// does its share. Helpers spin briefly between ops (ops of a step come tens of microseconds
// apart), then sleep, so an idle process burns no CPU.
//
// A helper that claimed a chunk and then lost its core still makes the caller wait. When that
// happens often (another process is competing for the cores), the team stops using helpers for
// a while and runs ops on the caller alone, then tries again: on a busy machine an op costs at
// most its one-thread time, never a scheduler time slice.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace kerosene::backends::cpu {

class ParallelTeam {
 public:
  /// The process-wide team, sized by the intra-op thread setting (never destroyed).
  static ParallelTeam& instance();

  /// Participants (the caller included).
  int size() const { return static_cast<int>(helpers_.size()) + 1; }

  /// Calls f(chunk) for chunk in [0, chunks), spread over the team; returns when all are done.
  /// A caller that finds the team busy (another thread's op) runs every chunk itself.
  template <typename F>
  void run(int chunks, F&& f) {
    run_erased(chunks, [](void* ctx, int chunk) { (*static_cast<F*>(ctx))(chunk); }, &f);
  }

 private:
  explicit ParallelTeam(int helpers);
  void run_erased(int chunks, void (*fn)(void*, int), void* ctx);
  void claim_chunks();
  void track_contention(int64_t start, int64_t own_done, int64_t end);
  void helper_loop();

  std::vector<std::thread> helpers_;
  std::mutex busy_;  // one op at a time uses the helpers

  // The current job; written by the caller before `epoch_` is bumped.
  std::atomic<void (*)(void*, int)> fn_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int> chunks_{0};
  std::atomic<int> next_{1 << 30};  // closed until a job opens it
  std::atomic<int> done_{0};
  std::atomic<uint64_t> epoch_{0};
  std::atomic<int> in_flight_{0};  // helpers that may be reading the job

  // Backoff under contention, touched only by the thread holding busy_.
  double waited_ns_ = 0, worked_ns_ = 0;
  int64_t solo_until_ns_ = 0;

  std::mutex sleep_mutex_;
  std::condition_variable sleep_cv_;
  std::atomic<int> sleeping_{0};
};

/// Splits [0, n) into `chunks` contiguous ranges, each starting on a cache line of floats, and
/// calls f(begin, end) for each over the team (an element-wise loop: threads_for_elements(n)).
template <typename F>
void parallel_ranges(int chunks, int64_t n, F&& f) {
  const int64_t step = ((n + chunks - 1) / chunks + 15) / 16 * 16;
  ParallelTeam::instance().run(chunks, [&](int c) {
    const int64_t begin = c * step, end = std::min(n, begin + step);
    if (begin < end) f(begin, end);
  });
}

}  // namespace kerosene::backends::cpu
