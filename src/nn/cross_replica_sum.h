// CrossReplicaSum: what a layer needs from a distribution strategy to compute over the global
// batch (BatchNormalization(synchronized=true)) while knowing nothing of devices and strategies.
// The strategy injects one per replica (Layer::set_cross_replica_sum); without one, or outside
// a distributed training step, such a layer computes over its own batch.
#pragma once

#include "kerosene/tensor.h"

namespace kerosene::nn {

class CrossReplicaSum {
 public:
  virtual ~CrossReplicaSum() = default;
  /// Whether a distributed training step is running now, so that sum() reaches every replica.
  virtual bool active() const = 0;
  /// Sums `values` (a small float tensor on this replica's device) in place over every replica
  /// of every worker; returns once this replica holds the sum. Every replica calls it in the
  /// same order with tensors of the same shape (they run the same layers in the same order),
  /// which is what keeps the replicas from waiting on each other forever. Throws when another
  /// replica failed (the strategy aborts the step instead of letting this one wait).
  virtual void sum(Tensor& values) = 0;
};

}  // namespace kerosene::nn
