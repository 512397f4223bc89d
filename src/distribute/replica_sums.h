// The strategy's side of nn::CrossReplicaSum: a replica's layers sum small tensors through the
// strategy's collective (in-process, MPI or NCCL), the one that sums the gradients. Sharing it
// keeps one order of collective calls per replica, which every replica and worker follows
// (the same layers run in the same order), so a layer's sums cannot overtake or wait on a
// gradient bucket of another replica.
#pragma once

#include <atomic>
#include <memory>

#include "distribute/strategy_state.h"
#include "nn/cross_replica_sum.h"

namespace kerosene::distribute {

/// Replica `replica`'s sums through `collective`, active while `in_train_step` is set (the
/// mirrored model sets it around each training step: only then do all replicas run). Both
/// must outlive the result.
std::shared_ptr<nn::CrossReplicaSum> make_replica_sums(Collective& collective, int replica,
                                                       const std::atomic<bool>& in_train_step);

}  // namespace kerosene::distribute
