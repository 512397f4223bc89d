#include "distribute/nccl_calls.h"

#include "backends/cuda_plugin/plugin_loader.h"
#include "kerosene/error.h"

namespace kerosene::distribute {
namespace {

class PluginNcclCalls final : public NcclCalls {
 public:
  int group_start() override { return api().nccl_group_start(); }
  int group_end() override { return api().nccl_group_end(); }
  int all_reduce(int device, void* comm, float* data, int64_t count) override {
    return api().nccl_all_reduce(device, comm, data, count);
  }
  int join(int device) override { return api().nccl_join(device); }
  int comm_init_all(int count, const int* devices, void** comms) override {
    return api().nccl_comm_init_all(count, devices, comms);
  }
  int comm_init_rank(int device, int nranks, const char* id128, int rank, void** comm) override {
    return api().nccl_comm_init_rank(device, nranks, id128, rank, comm);
  }
  int unique_id(char* id128) override { return api().nccl_unique_id(id128); }
  int comm_destroy(void* comm) override { return api().nccl_comm_destroy(comm); }
  int comm_abort(void* comm) override { return api().nccl_comm_abort(comm); }
  std::string last_error() override { return api().last_error(); }

 private:
  static const backends::cuda_abi::Plugin& api() { return *backends::cuda_plugin::plugin().api; }
};

}  // namespace

std::shared_ptr<NcclCalls> plugin_nccl_calls() { return std::make_shared<PluginNcclCalls>(); }

void check_nccl(NcclCalls& calls, int status, const char* what) {
  if (status != 0) throw DeviceError(std::string(what) + " failed: " + calls.last_error());
}

NcclGroup::NcclGroup(NcclCalls& calls) : calls_(calls) {
  check_nccl(calls_, calls_.group_start(), "ncclGroupStart");
  open_ = true;
}

NcclGroup::~NcclGroup() {
  if (open_) calls_.group_end();
}

void NcclGroup::end() {
  open_ = false;
  check_nccl(calls_, calls_.group_end(), "ncclGroupEnd");
}

}  // namespace kerosene::distribute
