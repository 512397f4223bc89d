// All-reduce among the replicas of one process. Each replica's thread arrives with its bucket;
// after a barrier, replica r sums its slice of the bucket (in replica order, so every replica
// gets bit-identical sums) and writes it to every replica; a second barrier ends the call.
//
// Replicas whose memory the host cannot address (GPUs without NCCL) are copied to host staging
// buffers first and back afterwards: correct, slower, and announced in the log.
#pragma once

#include <vector>

#include "distribute/replica_barrier.h"
#include "distribute/strategy_state.h"

namespace kerosene::distribute {

class LocalCollective final : public Collective {
 public:
  explicit LocalCollective(const std::vector<Device>& devices);
  void all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) override;
  std::string name() const override { return through_host_ ? "copy through the host" : "in-process"; }
  void abort() override { barrier_.abort(); }
  void reset() override { barrier_.reset(); }

 private:
  int replicas_;
  bool through_host_;
  ReplicaBarrier barrier_;
  std::vector<const std::vector<Tensor*>*> arrived_;  // each replica's bucket
  std::vector<std::vector<std::vector<float>>> staging_;  // [replica][tensor] when through_host_
};

}  // namespace kerosene::distribute
