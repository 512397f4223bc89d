// Whether a build's compiled kernels can run on a GPU of a given compute capability.
//
// CUDA's rules: native code for sm_XY runs on X.Z for every Z >= Y (same major); sm_XYa
// ("architecture-specific") runs on X.Y only; sm_XYf ("family") like sm_XY. PTX for compute_ZW
// is compiled by the driver at first start (JIT) for any GPU of capability Z.W or higher.
#pragma once

#include <string>

namespace kerosene::doctor {

enum class Coverage { native, ptx_jit, none };

struct CoverageAnswer {
  Coverage coverage = Coverage::none;
  std::string arch;  ///< the entry that covers it: "sm_90" or "compute_90"; empty for none
};

/// `architectures`: the build's list, e.g. "sm_80 sm_90 compute_90" (spaces or semicolons).
/// Native code wins over PTX; the newest matching entry is named.
CoverageAnswer kernel_coverage(const std::string& architectures, int compute_major, int compute_minor);

}  // namespace kerosene::doctor
