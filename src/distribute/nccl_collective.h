// All-reduce of GPU replicas through NCCL, with the collectives of the devices' backend
// (backends/device_collectives.h: the CUDA backend's are NCCL's entry points in its plugin).
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

/// The collectives of `devices`' backend and each device's number in them.
struct NcclDevices {
  std::shared_ptr<NcclCalls> calls;  // null: NCCL cannot serve these devices
  std::vector<int> ordinals;
};
/// The devices' collectives when they are devices whose backend has them (GPUs), distinct
/// physical devices, and the library loads; else no calls, with the reason in `why_not`.
NcclDevices nccl_devices(const std::vector<Device>& devices, std::string& why_not);

class NcclCollective final : public Collective {
 public:
  /// world == nullptr: this process only. `calls` and `ordinals`: nccl_devices' (or a test's fake).
  NcclCollective(const std::vector<Device>& devices, const std::vector<int>& ordinals, MpiWorld* world,
                 std::shared_ptr<NcclCalls> calls);
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
