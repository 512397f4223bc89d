// Data parallelism with tf.distribute's names and semantics.
//
//   ks::distribute::MirroredStrategy strategy;          // all visible GPUs, else the CPU devices
//   {
//     auto scope = strategy.scope();                     // models built here are mirrored
//     ks::Sequential model({...});
//     model.compile(ks::optimizers::Adam(), "sparse_categorical_crossentropy", {"accuracy"});
//   }
//   model.fit(x, y, {.batch_size = 64});                 // 64 is the global batch
//
// A mirrored model has one replica per device, each with identical initial weights, driven by
// one thread per replica. fit/evaluate/predict split every global batch across the replicas
// (the last, smaller batch too); each replica's gradients are scaled by 1/global_batch and
// summed across replicas (all-reduce, in buckets), so every replica takes the same optimizer
// step and the result equals one device training on the whole batch.
//
// MultiWorkerMirroredStrategy runs one process per worker (started by mpirun or srun): MPI
// carries the CPU collectives and NCCL's bootstrap; each worker reads its own shard of the
// data; only worker 0 prints results unless asked otherwise. A worker that dies or stops
// responding makes the others stop with an error naming its rank, within a bounded time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kerosene/device.h"

namespace kerosene::train {
class Distribution;  // what models see of a strategy (src/train)
}

namespace kerosene::distribute {

namespace detail {
struct StrategyState;  // devices, collectives, worker identity (src/distribute)
}

class Strategy;

/// Makes models created on this thread mirrored by `strategy`, until destroyed (RAII, nests).
class StrategyScope {
 public:
  explicit StrategyScope(const Strategy& strategy);
  ~StrategyScope();
  StrategyScope(const StrategyScope&) = delete;
  StrategyScope& operator=(const StrategyScope&) = delete;

 private:
  std::shared_ptr<train::Distribution> previous_;
};

class Strategy {
 public:
  virtual ~Strategy();
  /// Replicas across every worker (tf.distribute's num_replicas_in_sync).
  int num_replicas_in_sync() const;
  /// This worker's replica devices.
  std::vector<Device> devices() const;
  int num_workers() const;
  /// This process's rank among the workers (0 for MirroredStrategy).
  int worker_index() const;
  /// Whether this worker prints results and writes files (worker 0, unless asked otherwise).
  bool is_chief() const;
  /// "in-process", "nccl", "copy (NCCL missing)", "mpi", "mpi+nccl": how gradients are reduced.
  std::string reduction() const;
  StrategyScope scope() const { return StrategyScope(*this); }

  const std::shared_ptr<detail::StrategyState>& state() const { return state_; }

 protected:
  Strategy() = default;
  std::shared_ptr<detail::StrategyState> state_;
};

/// Synchronous training on the devices of one machine.
class MirroredStrategy : public Strategy {
 public:
  /// `devices`: e.g. {"/GPU:0", "/GPU:1"} or {"/CPU:0", "/CPU:1"}; empty: every visible GPU,
  /// else every logical CPU device. Throws ValueError for an empty or duplicate list and
  /// DeviceError for a device that does not exist, or when GPUs and CPUs are mixed.
  explicit MirroredStrategy(const std::vector<std::string>& devices = {});
};

struct MultiWorkerOptions {
  /// This worker's devices, as for MirroredStrategy (empty: its GPUs, else /CPU:0).
  std::vector<std::string> devices;
  /// Seconds a collective waits for the other workers before declaring the missing ones lost
  /// (default: $KEROSENE_COLLECTIVE_TIMEOUT, else 60).
  double timeout_seconds = 0;
  /// Let every worker print progress and results, not only worker 0.
  bool all_workers_print = false;
};

/// Synchronous training across processes (workers), each with its own devices. Initializes MPI
/// (MPI_Init_thread) on construction and finalizes it at exit; after a lost worker, ends the
/// job (MPI_Abort) rather than hang in MPI_Finalize.
class MultiWorkerMirroredStrategy : public Strategy {
 public:
  explicit MultiWorkerMirroredStrategy(const MultiWorkerOptions& options = {});
};

/// Ends every worker of a multi-worker job now (MPI_Abort), for a worker that failed and cannot
/// go on: the others would otherwise wait for it until their collective timeout.
[[noreturn]] void abort_all_workers(int exit_code);

/// The strategy of the innermost active scope on this thread (null when none).
std::shared_ptr<detail::StrategyState> current_strategy();

}  // namespace kerosene::distribute
