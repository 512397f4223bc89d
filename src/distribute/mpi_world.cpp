#include "distribute/mpi_world.h"

// The C API only: OpenMPI would otherwise pull in its deprecated C++ bindings.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "distribute/mpi_segments.h"
#include "kerosene/error.h"

namespace kerosene::distribute {
namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g s", s);
  return text;
}

std::string mpi_error(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

Clock::time_point deadline_after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

/// Polls until `done()` or the deadline; sleeps a little between polls once the wait is long,
/// so a worker waiting for a slower one leaves the CPU to it.
template <typename Done>
bool poll_until(Clock::time_point deadline, Done done) {
  for (int polls = 0;; ++polls) {
    if (done()) return true;
    if (Clock::now() > deadline) return false;
    if (polls > 2000) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace

MpiWorld& MpiWorld::instance() {
  static MpiWorld* world = new MpiWorld();  // finalized by finalize_at_exit, never destroyed
  return *world;
}

MpiWorld::MpiWorld() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    if (code != MPI_SUCCESS) throw RuntimeError("MPI_Init_thread failed: " + mpi_error(code));
    if (provided < MPI_THREAD_SERIALIZED) {
      throw RuntimeError("this MPI library supports no calls from worker threads (MPI_THREAD_SERIALIZED); "
                         "kerosene's replicas call it from their threads");
    }
    std::atexit(finalize_at_exit);
  }
  // Errors come back as codes, so a lost peer becomes kerosene's error naming it.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  if (!initialized) segment_path_ = unlink_shared_memory_segment();  // nothing left in /dev/shm if killed
  if (const char* t = std::getenv("KEROSENE_COLLECTIVE_TIMEOUT")) {
    char* end = nullptr;
    const double seconds = std::strtod(t, &end);
    if (end == t || *end != '\0' || !(seconds > 0)) {
      throw ValueError(std::string("KEROSENE_COLLECTIVE_TIMEOUT must be a positive number of seconds, got \"") + t + "\"");
    }
    timeout_seconds_ = seconds;
  }
}

MpiWorld::~MpiWorld() = default;

void MpiWorld::finalize_at_exit() {
  MpiWorld& world = instance();
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (world.failed_) {
    std::fflush(stdout);
    std::fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  restore_shared_memory_segment_name(world.segment_path_);
  MPI_Finalize();
}

void MpiWorld::abort(int code) {
  failed_ = true;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

void MpiWorld::lost(const std::string& message) {
  failed_ = true;
  // Said here as well: the error may not reach a handler that prints it before the job ends.
  std::fprintf(stderr, "kerosene: worker %d: %s\n", rank_, message.c_str());
  std::fflush(stderr);
  throw RuntimeError(message);
}

void MpiWorld::check_all_arrived(const char* what) {
  if (size_ == 1) return;
  ++sequence_;
  const int tag = static_cast<int>(sequence_ % 30000) + 1;
  const int64_t mine = static_cast<int64_t>(sequence_);
  std::vector<int64_t> theirs(static_cast<size_t>(size_), 0);
  std::vector<MPI_Request> receives, sends;
  std::vector<int> peers;
  for (int peer = 0; peer < size_; ++peer) {
    if (peer == rank_) continue;
    receives.emplace_back();
    sends.emplace_back();
    peers.push_back(peer);
    MPI_Irecv(&theirs[static_cast<size_t>(peer)], 1, MPI_INT64_T, peer, tag, MPI_COMM_WORLD, &receives.back());
    MPI_Isend(&mine, 1, MPI_INT64_T, peer, tag, MPI_COMM_WORLD, &sends.back());
  }
  const auto deadline = deadline_after(timeout_seconds_);
  std::vector<int> arrived(receives.size(), 0);
  const bool all = poll_until(deadline, [&] {
    bool done = true;
    for (size_t i = 0; i < receives.size(); ++i) {
      if (!arrived[i]) {
        MPI_Test(&receives[i], &arrived[i], MPI_STATUS_IGNORE);
        done = done && arrived[i];
      }
    }
    return done;
  });
  if (!all) {
    std::string missing;
    for (size_t i = 0; i < receives.size(); ++i) {
      if (!arrived[i]) missing += (missing.empty() ? "" : ", ") + std::to_string(peers[i]);
    }
    lost("worker(s) " + missing + " of " + std::to_string(size_) + " did not reach collective #" +
         std::to_string(sequence_) + " (" + what + ") within " + seconds_text(timeout_seconds_) +
         ": lost (dead, hung or unreachable). Stopping; set KEROSENE_COLLECTIVE_TIMEOUT to wait longer.");
  }
  MPI_Waitall(static_cast<int>(sends.size()), sends.data(), MPI_STATUSES_IGNORE);
}

void MpiWorld::wait(void* request, const char* what) {
  auto* r = static_cast<MPI_Request*>(request);
  const auto deadline = deadline_after(timeout_seconds_);
  int done = 0, code = MPI_SUCCESS;
  const bool finished = poll_until(deadline, [&] {
    code = MPI_Test(r, &done, MPI_STATUS_IGNORE);
    return code != MPI_SUCCESS || done;
  });
  if (code != MPI_SUCCESS) lost(std::string(what) + " failed: " + mpi_error(code) + " (a worker was lost)");
  if (!finished) {
    lost(std::string(what) + " did not complete within " + seconds_text(timeout_seconds_) +
         ": a worker stopped responding during it");
  }
}

void MpiWorld::collective(void* data, int64_t n, bool is_double, bool broadcast, const char* what) {
  if (size_ == 1 || n == 0) return;
  check_all_arrived(what);
  constexpr int64_t kChunk = int64_t{1} << 30;  // MPI counts are ints
  const size_t element = is_double ? sizeof(double) : sizeof(float);
  for (int64_t done = 0; done < n; done += kChunk) {
    const int count = static_cast<int>(std::min(kChunk, n - done));
    void* chunk = static_cast<char*>(data) + static_cast<size_t>(done) * element;
    MPI_Request request;
    if (broadcast) {
      MPI_Ibcast(chunk, count, is_double ? MPI_DOUBLE : MPI_FLOAT, 0, MPI_COMM_WORLD, &request);
    } else {
      MPI_Iallreduce(MPI_IN_PLACE, chunk, count, is_double ? MPI_DOUBLE : MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &request);
    }
    wait(&request, what);
  }
}

}  // namespace kerosene::distribute
