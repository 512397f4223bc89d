// All-reduce of GPU replicas through NCCL, with the CUDA plugin's NCCL entry points.
//
// One process: one communicator per local GPU (ncclCommInitAll). Several workers: one
// communicator per GPU across every worker (ncclCommInitRank), its unique id sent by worker 0
// over MPI; before each bucket, the workers check over MPI that every one of them arrived
// (MpiWorld's liveness round), so a lost worker is named instead of NCCL waiting forever.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "distribute/nccl_calls.h"
#include "distribute/replica_barrier.h"
#include "distribute/strategy_state.h"

namespace kerosene::distribute {

class MpiWorld;

/// The CUDA device numbers of `devices` when they are GPUs that NCCL can serve (distinct
/// physical GPUs, NCCL loadable); empty otherwise, with the reason in `why_not`.
std::vector<int> nccl_ordinals(const std::vector<Device>& devices, std::string& why_not);

class NcclCollective final : public Collective {
 public:
  /// world == nullptr: this process only. `calls`: the plugin's NCCL unless a test gives a fake.
  NcclCollective(const std::vector<Device>& devices, const std::vector<int>& ordinals, MpiWorld* world,
                 std::shared_ptr<NcclCalls> calls = plugin_nccl_calls());
  ~NcclCollective() override;
  void all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) override;
  void all_reduce_host(std::vector<double>& values) override;
  void broadcast_host(std::vector<float>& values) override;
  std::string name() const override { return world_ ? "mpi+nccl" : "nccl"; }
  void abort() override;
  void reset() override;

 private:
  void create_communicators();
  /// The replica's communicator, marked in use; throws ReplicaAborted after an abort.
  void* enter(int replica);
  /// Unmarks it; after an abort that came meanwhile, aborts it now that no call uses it.
  void leave(int replica);
  void abort_comm_locked(size_t replica);

  std::shared_ptr<NcclCalls> calls_;
  std::vector<int> ordinals_;
  MpiWorld* world_;
  ReplicaBarrier barrier_;
  // A replica's thread uses its communicator outside the lock (NCCL calls may block); abort(),
  // from a failing replica's thread, must not free one that is in such a call: `busy` says so,
  // and the thread leaving the call aborts it instead.
  std::mutex mutex_;
  bool aborted_ = false;
  std::vector<void*> comms_;
  std::vector<bool> busy_;
};

}  // namespace kerosene::distribute
