#include "distribute/replica_sums.h"

#include <vector>

namespace kerosene::distribute {
namespace {

class ReplicaSums final : public nn::CrossReplicaSum {
 public:
  ReplicaSums(Collective& collective, int replica, const std::atomic<bool>& in_train_step)
      : collective_(collective), replica_(replica), in_train_step_(in_train_step) {}

  bool active() const override { return in_train_step_.load(std::memory_order_acquire); }

  void sum(Tensor& values) override {
    const std::vector<Tensor*> bucket{&values};
    // last = true: the layer's next kernel reads the sums (NCCL joins its stream here).
    collective_.all_reduce(replica_, bucket, /*last=*/true);
  }

 private:
  Collective& collective_;
  int replica_;
  const std::atomic<bool>& in_train_step_;
};

}  // namespace

std::shared_ptr<nn::CrossReplicaSum> make_replica_sums(Collective& collective, int replica,
                                                       const std::atomic<bool>& in_train_step) {
  return std::make_shared<ReplicaSums>(collective, replica, in_train_step);
}

}  // namespace kerosene::distribute
