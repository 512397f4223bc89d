// The NCCL entry points NcclCollective uses, behind an interface: the plugin's table in
// production, a fake in tests, so that what matters without a GPU can be checked on the CPU:
// an NCCL group is always closed, even when a call inside it fails (groups are per thread: one
// left open defers every later collective of that thread forever), and abort() never frees a
// communicator another replica's thread is inside a call with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace kerosene::distribute {

/// Every int is a cuda_abi::Status (0: ok); last_error() says why the last call failed.
class NcclCalls {
 public:
  virtual ~NcclCalls() = default;
  virtual int group_start() = 0;
  virtual int group_end() = 0;
  virtual int all_reduce(int device, void* comm, float* data, int64_t count) = 0;
  virtual int join(int device) = 0;
  virtual int comm_init_all(int count, const int* devices, void** comms) = 0;
  virtual int comm_init_rank(int device, int nranks, const char* id128, int rank, void** comm) = 0;
  virtual int unique_id(char* id128) = 0;
  virtual int comm_destroy(void* comm) = 0;
  virtual int comm_abort(void* comm) = 0;
  virtual std::string last_error() = 0;
};

/// The CUDA plugin's NCCL functions.
std::shared_ptr<NcclCalls> plugin_nccl_calls();

/// ncclGroupStart on construction; ncclGroupEnd by end(), or by the destructor when a call in
/// between threw (its status then ignored: the first failure is the one worth reporting).
class NcclGroup {
 public:
  explicit NcclGroup(NcclCalls& calls);
  ~NcclGroup();
  NcclGroup(const NcclGroup&) = delete;
  NcclGroup& operator=(const NcclGroup&) = delete;
  void end();

 private:
  NcclCalls& calls_;
  bool open_ = false;
};

/// Throws DeviceError "<what> failed: <calls.last_error()>" unless status is ok.
void check_nccl(NcclCalls& calls, int status, const char* what);

}  // namespace kerosene::distribute
