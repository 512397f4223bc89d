// What a distribution strategy is made of: this worker's replica devices, the worker's place
// among the workers, and the collective that sums gradients across every replica.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kerosene/distribute.h"
#include "kerosene/tensor.h"
#include "train/distribution.h"

namespace kerosene::distribute {

/// Sums tensors across every replica of every worker. Each local replica's thread calls
/// all_reduce with its own tensors (the same shapes, in the same order, on every replica), and
/// returns once every replica holds the sum. A group of tensors is one bucket: one rendezvous.
class Collective {
 public:
  virtual ~Collective() = default;
  /// `last`: the step's last bucket; the sums must be in place when the next kernel on the
  /// replica's device runs (an asynchronous engine joins its communication here).
  virtual void all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) = 0;
  /// Sums host values across workers (loss and metric totals); called by one thread per worker.
  virtual void all_reduce_host(std::vector<double>& values) { (void)values; }
  /// Worker 0's values to every worker (initial weights); called by one thread per worker.
  virtual void broadcast_host(std::vector<float>& values) { (void)values; }
  /// How the sums travel, for the log: "in-process", "copy through the host", "mpi", ...
  virtual std::string name() const = 0;
  /// Makes every replica waiting in (or later entering) all_reduce throw ReplicaAborted: one
  /// replica failed, and the others must not wait for it.
  virtual void abort() = 0;
  /// Usable again after an abort, once every replica has returned.
  virtual void reset() = 0;
};

namespace detail {

/// A strategy's state, shared by the Strategy object and the models created in its scope; as
/// train::Distribution it is what those models (and the training loop) see of it.
struct StrategyState : train::Distribution, std::enable_shared_from_this<StrategyState> {
  std::unique_ptr<Collective> collective;
  std::string reduction() const override { return collective->name(); }
  std::shared_ptr<train::Replicas> mirror(train::ModelState& primary) override;
};

}  // namespace detail

/// The collective for replicas of one process: NCCL for GPUs when it is available, else an
/// in-process reduction (CPU devices) or a copy through the host (announced in the log).
std::unique_ptr<Collective> make_local_collective(const std::vector<Device>& devices);

/// The local part of every strategy: validates `names` (or picks the defaults: every visible
/// GPU, else every logical CPU device) and returns the devices.
std::vector<Device> resolve_devices(const std::vector<std::string>& names, bool cpu_default_all);

}  // namespace kerosene::distribute
