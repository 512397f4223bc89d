// All-reduce of GPU replicas through NCCL, with the CUDA plugin's NCCL entry points.
//
// One process: one communicator per local GPU (ncclCommInitAll). Several workers: one
// communicator per GPU across every worker (ncclCommInitRank), its unique id sent by worker 0
// over MPI; before each bucket, the workers check over MPI that every one of them arrived
// (MpiWorld's liveness round), so a lost worker is named instead of NCCL waiting forever.
#pragma once

#include <memory>
#include <vector>

#include "distribute/replica_barrier.h"
#include "distribute/strategy_state.h"

namespace kerosene::distribute {

class MpiWorld;

/// The CUDA device numbers of `devices` when they are GPUs that NCCL can serve (distinct
/// physical GPUs, NCCL loadable); empty otherwise, with the reason in `why_not`.
std::vector<int> nccl_ordinals(const std::vector<Device>& devices, std::string& why_not);

class NcclCollective final : public Collective {
 public:
  /// world == nullptr: this process only.
  NcclCollective(const std::vector<Device>& devices, const std::vector<int>& ordinals, MpiWorld* world);
  ~NcclCollective() override;
  void all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) override;
  void all_reduce_host(std::vector<double>& values) override;
  void broadcast_host(std::vector<float>& values) override;
  std::string name() const override { return world_ ? "mpi+nccl" : "nccl"; }
  void abort() override;
  void reset() override;

 private:
  void create_communicators();

  std::vector<int> ordinals_;
  MpiWorld* world_;
  std::vector<void*> comms_;
  ReplicaBarrier barrier_;
};

}  // namespace kerosene::distribute
