// The NCCL entry points NcclCollective uses, behind the backend's interface (the CUDA backend's
// DeviceCollectives in production, a fake in tests), so that what matters without a GPU can be checked on the CPU:
// an NCCL group is always closed, even when a call inside it fails (groups are per thread: one
// left open defers every later collective of that thread forever), and abort() never frees a
// communicator another replica's thread is inside a call with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backends/device_collectives.h"

namespace kerosene::distribute {

/// Every int is a status (0: ok); last_error() says why the last call failed. The devices'
/// backend provides it (Backend::collectives()); tests give a fake.
using NcclCalls = backends::DeviceCollectives;

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
