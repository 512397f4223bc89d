#include "distribute/nccl_calls.h"

#include "kerosene/error.h"

namespace kerosene::distribute {

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
