// MpiWorld: the workers of a multi-worker job, as MPI sees them, with collectives that never
// wait forever. Before every collective, each worker sends every other a small "arrived at
// collective #k" message; a worker whose message does not come within the timeout is named as
// lost, and the job stops with an error instead of hanging. (When a worker process dies,
// mpirun also ends the job; the timeout covers the worker that hangs or is stopped.)
#pragma once

#include <cstdint>
#include <string>

namespace kerosene::distribute {

class MpiWorld {
 public:
  /// The process's world; initializes MPI on first use (MPI_Init_thread). At exit it finalizes
  /// MPI, or aborts the job (MPI_Abort) when a worker was lost or this one failed, because
  /// MPI_Finalize would wait for the missing worker.
  static MpiWorld& instance();

  int rank() const { return rank_; }
  int size() const { return size_; }
  void set_timeout(double seconds) { timeout_seconds_ = seconds; }
  double timeout() const { return timeout_seconds_; }

  /// In-place sums across workers. Throws RuntimeError naming the lost worker(s) when one does
  /// not arrive within the timeout.
  void all_reduce(float* data, int64_t n, const char* what) { collective(data, n, false, false, what); }
  void all_reduce(double* data, int64_t n, const char* what) { collective(data, n, true, false, what); }
  /// Worker 0's `data` to every worker.
  void broadcast(float* data, int64_t n, const char* what) { collective(data, n, false, true, what); }

  /// Waits (within the timeout) until every worker has arrived here; throws naming the lost.
  void check_arrival(const char* what) { check_all_arrived(what); }

  /// Marks the job as failed: at exit, MPI_Abort ends every worker.
  void mark_failed() { failed_ = true; }
  /// Ends every worker of the job now (MPI_Abort) with `code`.
  [[noreturn]] void abort(int code);

 private:
  MpiWorld();
  ~MpiWorld();
  void check_all_arrived(const char* what);
  /// Sum (or broadcast from worker 0) of n floats or doubles, after the arrival check.
  void collective(void* data, int64_t n, bool is_double, bool broadcast, const char* what);
  void wait(void* request, const char* what);  // an MPI_Request*, within the timeout
  [[noreturn]] void lost(const std::string& message);
  static void finalize_at_exit();

  int rank_ = 0, size_ = 1;
  double timeout_seconds_ = 60;
  uint64_t sequence_ = 0;
  bool failed_ = false;
  std::string segment_path_;  // our shared-memory file, unlinked at start (see mpi_segments.h)
};

}  // namespace kerosene::distribute
