#include "backends/cuda_plugin/cuda_collectives.h"

namespace kerosene::backends::cuda_plugin {
namespace {

class CudaCollectives final : public DeviceCollectives {
 public:
  explicit CudaCollectives(const cuda_abi::Plugin& api) : api_(api) {}
  int version(int* version) override { return api_.nccl_version(version); }
  int unique_id(char* id128) override { return api_.nccl_unique_id(id128); }
  int comm_init_all(int count, const int* devices, void** comms) override {
    return api_.nccl_comm_init_all(count, devices, comms);
  }
  int comm_init_rank(int device, int nranks, const char* id128, int rank, void** comm) override {
    return api_.nccl_comm_init_rank(device, nranks, id128, rank, comm);
  }
  int all_reduce(int device, void* comm, float* data, int64_t count) override {
    return api_.nccl_all_reduce(device, comm, data, count);
  }
  int join(int device) override { return api_.nccl_join(device); }
  int group_start() override { return api_.nccl_group_start(); }
  int group_end() override { return api_.nccl_group_end(); }
  int comm_destroy(void* comm) override { return api_.nccl_comm_destroy(comm); }
  int comm_abort(void* comm) override { return api_.nccl_comm_abort(comm); }
  std::string last_error() override { return api_.last_error(); }

 private:
  const cuda_abi::Plugin& api_;
};

}  // namespace

DeviceCollectives& cuda_collectives(const cuda_abi::Plugin& api) {
  // One plugin table per process (plugin_loader.h), so one instance; never destroyed, as NCCL
  // itself is never unloaded.
  static CudaCollectives* instance = new CudaCollectives(api);
  return *instance;
}

}  // namespace kerosene::backends::cuda_plugin
