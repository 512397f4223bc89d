// MultiWorkerMirroredStrategy: this worker's replicas reduce among themselves (in-process),
// replica 0 reduces the result across workers (MPI), and the other replicas copy it back.
#include <cstring>

#include "distribute/local_collective.h"
#include "distribute/mpi_world.h"
#include "distribute/nccl_collective.h"
#include "distribute/replica_barrier.h"
#include "distribute/strategy_state.h"
#include "runtime/device_context.h"
#include "runtime/placement.h"
#include "runtime/storage.h"

namespace kerosene::distribute {
namespace {

class MultiWorkerCollective final : public Collective {
 public:
  MultiWorkerCollective(const std::vector<Device>& devices, MpiWorld& world)
      : local_(devices), world_(world), replicas_(static_cast<int>(devices.size())), barrier_(replicas_),
        arrived_(devices.size(), nullptr) {}

  void all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) override {
    local_.all_reduce(replica, bucket, last);
    arrived_[static_cast<size_t>(replica)] = &bucket;
    if (replica == 0) {
      for (Tensor* t : bucket) reduce_across_workers(*t);
    }
    if (replicas_ == 1) return;
    barrier_.arrive_and_wait();
    if (replica != 0) {
      const auto& first = *arrived_[0];
      for (size_t i = 0; i < bucket.size(); ++i) copy(*first[i], *bucket[i]);
    }
    barrier_.arrive_and_wait();
  }

  void all_reduce_host(std::vector<double>& values) override {
    world_.all_reduce(values.data(), static_cast<int64_t>(values.size()), "summing the loss and metrics");
  }
  void broadcast_host(std::vector<float>& values) override {
    world_.broadcast(values.data(), static_cast<int64_t>(values.size()), "sending worker 0's initial weights");
  }
  std::string name() const override { return "mpi (" + local_.name() + " within a worker)"; }
  void abort() override {
    local_.abort();
    barrier_.abort();
  }
  void reset() override {
    local_.reset();
    barrier_.reset();
  }

 private:
  static bool on_host(const Tensor& t) { return t.storage()->context->backend().host_accessible(); }

  void reduce_across_workers(Tensor& t) {
    if (on_host(t)) {
      world_.all_reduce(static_cast<float*>(t.raw_data()), t.numel(), "summing gradients");
      return;
    }
    staging_.resize(static_cast<size_t>(t.numel()));
    auto& backend = t.storage()->context->backend();
    backend.copy_to_host(staging_.data(), t.raw_data(), t.nbytes());
    world_.all_reduce(staging_.data(), t.numel(), "summing gradients");
    backend.copy_from_host(t.raw_data(), staging_.data(), t.nbytes());
  }

  static void copy(const Tensor& from, Tensor& to) {
    if (on_host(from) && on_host(to)) {
      std::memcpy(to.raw_data(), from.raw_data(), from.nbytes());
      return;
    }
    std::vector<float> host(static_cast<size_t>(from.numel()));
    from.storage()->context->backend().copy_to_host(host.data(), from.raw_data(), from.nbytes());
    to.storage()->context->backend().copy_from_host(to.raw_data(), host.data(), to.nbytes());
  }

  LocalCollective local_;
  MpiWorld& world_;
  int replicas_;
  ReplicaBarrier barrier_;
  std::vector<const std::vector<Tensor*>*> arrived_;
  std::vector<float> staging_;
};

}  // namespace

MultiWorkerMirroredStrategy::MultiWorkerMirroredStrategy(const MultiWorkerOptions& options) {
  MpiWorld& world = MpiWorld::instance();
  if (options.timeout_seconds > 0) world.set_timeout(options.timeout_seconds);
  state_ = std::make_shared<detail::StrategyState>();
  state_->devices = resolve_devices(options.devices, /*cpu_default_all=*/false);
  state_->num_workers = world.size();
  state_->worker_index = world.rank();
  state_->chief = world.rank() == 0 || options.all_workers_print;
  std::string why_not = "the replicas are CPUs";
  const NcclDevices nccl = state_->devices.front().is_gpu() ? nccl_devices(state_->devices, why_not) : NcclDevices{};
  if (nccl.calls) {
    state_->collective = std::make_unique<NcclCollective>(state_->devices, nccl.ordinals, &world, nccl.calls);
  } else {
    if (state_->devices.front().is_gpu()) {
      runtime::warn("NCCL cannot sum the GPUs' gradients (" + why_not + "); MPI sums them through host memory");
    }
    state_->collective = std::make_unique<MultiWorkerCollective>(state_->devices, world);
  }
}

void abort_all_workers(int exit_code) { MpiWorld::instance().abort(exit_code); }

}  // namespace kerosene::distribute
