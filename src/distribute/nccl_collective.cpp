#include "distribute/nccl_collective.h"

#include <set>

#include "backends/cuda_plugin/cuda_backend.h"
#include "backends/cuda_plugin/plugin_loader.h"
#include "distribute/mpi_world.h"
#include "kerosene/error.h"
#include "runtime/device_context.h"

namespace kerosene::distribute {
namespace {

const backends::cuda_abi::Plugin& api() { return *backends::cuda_plugin::plugin().api; }

void check(int status, const char* what) {
  if (status != backends::cuda_abi::kOk) throw DeviceError(std::string(what) + " failed: " + api().last_error());
}

}  // namespace

std::vector<int> nccl_ordinals(const std::vector<Device>& devices, std::string& why_not) {
  std::vector<int> ordinals;
  std::set<int> distinct;
  for (const Device& d : devices) {
    auto* cuda = dynamic_cast<backends::cuda_plugin::CudaBackend*>(&runtime::Registry::instance().context(d).backend());
    if (!cuda) {
      why_not = d.to_string() + " is not a GPU";
      return {};
    }
    ordinals.push_back(cuda->ordinal());
    distinct.insert(cuda->ordinal());
  }
  if (distinct.size() != ordinals.size()) {
    why_not = "several replicas are logical devices of one GPU, which NCCL cannot join in one communicator";
    return {};
  }
  int version = 0;
  if (api().nccl_version(&version) != backends::cuda_abi::kOk) {
    why_not = api().last_error();
    return {};
  }
  return ordinals;
}

NcclCollective::NcclCollective(const std::vector<Device>& devices, const std::vector<int>& ordinals, MpiWorld* world)
    : ordinals_(ordinals), world_(world), comms_(ordinals.size(), nullptr), barrier_(static_cast<int>(devices.size())) {
  create_communicators();
}

NcclCollective::~NcclCollective() {
  for (void* comm : comms_) {
    if (comm) api().nccl_comm_destroy(comm);
  }
}

void NcclCollective::create_communicators() {
  const int local = static_cast<int>(ordinals_.size());
  if (!world_) {
    check(api().nccl_comm_init_all(local, ordinals_.data(), comms_.data()), "ncclCommInitAll");
    return;
  }
  // Worker 0's unique id to every worker (as floats: 128 bytes = 32 floats, copied bitwise).
  std::vector<float> id(32, 0.0f);
  if (world_->rank() == 0) check(api().nccl_unique_id(reinterpret_cast<char*>(id.data())), "ncclGetUniqueId");
  world_->broadcast(id.data(), 32, "sending NCCL's unique id");
  const int nranks = world_->size() * local;
  // One thread creates every local rank: the calls must sit in one NCCL group.
  check(api().nccl_group_start(), "ncclGroupStart");
  for (int r = 0; r < local; ++r) {
    check(api().nccl_comm_init_rank(ordinals_[static_cast<size_t>(r)], nranks, reinterpret_cast<const char*>(id.data()),
                                    world_->rank() * local + r, &comms_[static_cast<size_t>(r)]),
          "ncclCommInitRank");
  }
  check(api().nccl_group_end(), "ncclGroupEnd");
}

void NcclCollective::all_reduce(int replica, const std::vector<Tensor*>& bucket, bool last) {
  if (world_) {
    // Every worker must be there before NCCL starts: a lost one would make it wait forever.
    if (replica == 0) world_->check_arrival("summing gradients (NCCL)");
    barrier_.arrive_and_wait();
  }
  const int device = ordinals_[static_cast<size_t>(replica)];
  void* comm = comms_[static_cast<size_t>(replica)];
  check(api().nccl_group_start(), "ncclGroupStart");
  for (Tensor* t : bucket) {
    check(api().nccl_all_reduce(device, comm, static_cast<float*>(t->raw_data()), t->numel()), "ncclAllReduce");
  }
  check(api().nccl_group_end(), "ncclGroupEnd");
  // The all-reduces run on the communication stream while backward goes on; the optimizer
  // step, next on the compute stream, must see their sums.
  if (last) check(api().nccl_join(device), "joining the all-reduces");
}

void NcclCollective::all_reduce_host(std::vector<double>& values) {
  if (world_) world_->all_reduce(values.data(), static_cast<int64_t>(values.size()), "summing the loss and metrics");
}

void NcclCollective::broadcast_host(std::vector<float>& values) {
  if (world_) world_->broadcast(values.data(), static_cast<int64_t>(values.size()), "sending worker 0's initial weights");
}

void NcclCollective::abort() {
  barrier_.abort();
  // A replica failed mid-step: the communicators may hold half-finished operations.
  for (void*& comm : comms_) {
    if (comm) api().nccl_comm_abort(comm);
    comm = nullptr;
  }
}

void NcclCollective::reset() {
  barrier_.reset();
  if (!world_) create_communicators();  // across workers, the job cannot go on after a failure
}

}  // namespace kerosene::distribute
