#pragma once

namespace kerosene::runtime {

/// Threads one op may use: the user's setting, else the number of cores.
int intra_op_threads();

/// The most threads an op started on this thread may use (0: no cap). Replicas of a mirrored
/// model on CPU devices set 1: each runs its ops on its own core instead of taking the shared
/// thread team from the other replicas.
int thread_op_threads_cap();

/// Threads an op started on this thread may use: intra_op_threads() within this thread's cap.
int op_threads_here();

class ScopedOpThreadsCap {
 public:
  explicit ScopedOpThreadsCap(int cap);
  ~ScopedOpThreadsCap();
  ScopedOpThreadsCap(const ScopedOpThreadsCap&) = delete;
  ScopedOpThreadsCap& operator=(const ScopedOpThreadsCap&) = delete;

 private:
  int previous_;
};

}  // namespace kerosene::runtime
