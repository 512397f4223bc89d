#include "distribute/nccl_collective.h"

#include <set>

#include "backends/backend.h"
#include "distribute/mpi_world.h"
#include "kerosene/error.h"
#include "runtime/device_context.h"

namespace kerosene::distribute {

NcclDevices nccl_devices(const std::vector<Device>& devices, std::string& why_not) {
  NcclDevices found;
  std::set<int> distinct;
  backends::DeviceCollectives* collectives = nullptr;
  for (const Device& d : devices) {
    backends::Backend& backend = runtime::Registry::instance().context(d).backend();
    if (!backend.collectives()) {
      why_not = d.to_string() + " is not a GPU (its " + backend.name() + " backend has no device collectives)";
      return {};
    }
    if (collectives && collectives != backend.collectives()) {
      why_not = "the devices belong to different backends, which no one communicator joins";
      return {};
    }
    collectives = backend.collectives();
    found.ordinals.push_back(backend.collective_device());
    distinct.insert(backend.collective_device());
  }
  if (distinct.size() != found.ordinals.size()) {
    why_not = "several replicas are logical devices of one GPU, which NCCL cannot join in one communicator";
    return {};
  }
  int version = 0;
  if (collectives->version(&version) != 0) {
    why_not = collectives->last_error();
    return {};
  }
  // The backend's collectives live as long as the process: shared, not owned.
  found.calls = std::shared_ptr<NcclCalls>(collectives, [](NcclCalls*) {});
  return found;
}

NcclCollective::NcclCollective(const std::vector<Device>& devices, const std::vector<int>& ordinals, MpiWorld* world,
                               std::shared_ptr<NcclCalls> calls)
    : calls_(std::move(calls)),
      ordinals_(ordinals),
      world_(world),
      barrier_(static_cast<int>(devices.size())),
      comms_(ordinals.size(), nullptr),
      busy_(ordinals.size(), false) {
  create_communicators();
}

NcclCollective::~NcclCollective() {
  for (void* comm : comms_) {
    if (comm) calls_->comm_destroy(comm);
  }
}

void NcclCollective::create_communicators() {
  const int local = static_cast<int>(ordinals_.size());
  if (!world_) {
    check_nccl(*calls_, calls_->comm_init_all(local, ordinals_.data(), comms_.data()), "ncclCommInitAll");
    return;
  }
  // Worker 0's unique id to every worker (as floats: 128 bytes = 32 floats, copied bitwise).
  std::vector<float> id(32, 0.0f);
  if (world_->rank() == 0) check_nccl(*calls_, calls_->unique_id(reinterpret_cast<char*>(id.data())), "ncclGetUniqueId");
  world_->broadcast(id.data(), 32, "sending NCCL's unique id");
  const int nranks = world_->size() * local;
  // One thread creates every local rank: the calls must sit in one NCCL group.
  NcclGroup group(*calls_);
  for (int r = 0; r < local; ++r) {
    check_nccl(*calls_,
               calls_->comm_init_rank(ordinals_[static_cast<size_t>(r)], nranks, reinterpret_cast<const char*>(id.data()),
                                      world_->rank() * local + r, &comms_[static_cast<size_t>(r)]),
               "ncclCommInitRank");
  }
  group.end();
}

void* NcclCollective::enter(int replica) {
  std::lock_guard lock(mutex_);
  if (aborted_) throw ReplicaAborted();
  busy_[static_cast<size_t>(replica)] = true;
  return comms_[static_cast<size_t>(replica)];
}

void NcclCollective::leave(int replica) {
  std::lock_guard lock(mutex_);
  busy_[static_cast<size_t>(replica)] = false;
  if (aborted_) abort_comm_locked(static_cast<size_t>(replica));
}

void NcclCollective::abort_comm_locked(size_t replica) {
  if (comms_[replica]) calls_->comm_abort(comms_[replica]);
  comms_[replica] = nullptr;
}

void NcclCollective::all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) {
  if (world_) {
    // Every worker must be there before NCCL starts: a lost one would make it wait forever.
    if (replica == 0) world_->check_arrival("summing gradients (NCCL)");
    barrier_.arrive_and_wait();
  }
  const int device = ordinals_[static_cast<size_t>(replica)];
  void* comm = enter(replica);
  struct Leave {
    NcclCollective& self;
    int replica;
    ~Leave() { self.leave(replica); }
  } leave{*this, replica};
  {
    NcclGroup group(*calls_);
    for (Tensor* t : bucket) {
      check_nccl(*calls_, calls_->all_reduce(device, comm, static_cast<float*>(t->raw_data()), t->numel()),
                 "ncclAllReduce");
    }
    group.end();
  }
  // The all-reduces run on the communication stream while backward goes on; the optimizer
  // step, next on the compute stream, must see their sums.
  if (last) check_nccl(*calls_, calls_->join(device), "joining the all-reduces");
}

void NcclCollective::all_reduce_host(std::vector<double>& values) {
  if (world_) world_->all_reduce(values.data(), static_cast<int64_t>(values.size()), "summing the loss and metrics");
}

void NcclCollective::broadcast_host(std::vector<float>& values) {
  if (world_) world_->broadcast(values.data(), static_cast<int64_t>(values.size()), "sending worker 0's initial weights");
}

void NcclCollective::abort() {
  barrier_.abort();
  // A replica failed mid-step: the communicators may hold half-finished operations, on which
  // other replicas' GPUs (and threads waiting for them) would wait forever. Abort those not in
  // a call now; a replica inside a call aborts its own when it leaves (leave()).
  std::lock_guard lock(mutex_);
  aborted_ = true;
  for (size_t r = 0; r < comms_.size(); ++r) {
    if (!busy_[r]) abort_comm_locked(r);
  }
}

void NcclCollective::reset() {
  barrier_.reset();
  std::lock_guard lock(mutex_);
  aborted_ = false;
  for (size_t r = 0; r < comms_.size(); ++r) abort_comm_locked(r);  // none is in a call: every replica returned
  if (!world_) create_communicators();  // across workers, the job cannot go on after a failure
}

}  // namespace kerosene::distribute
