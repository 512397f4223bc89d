// Library versions, decoded from the integers each library reports.
#pragma once

#include <string>

namespace kerosene::doctor {

struct Version {
  int major = 0, minor = 0, patch = 0;
  bool known() const { return major > 0; }
  /// "13.0" with parts = 2, "9.19.0" with 3; "unknown" when not known.
  std::string text(int parts = 3) const;
  friend auto operator<=>(const Version&, const Version&) = default;
};

/// "13.0.88" -> 13.0.88; "" or text without a leading number -> unknown.
Version parse_version(const std::string& text);
/// cuDriverGetVersion / cudaRuntimeGetVersion: 1000 * major + 10 * minor (13000 -> 13.0).
Version cuda_version_from_int(int encoded);
/// cudnnGetVersion: 10000 * major + 100 * minor + patch since cuDNN 9, 1000 * major before.
Version cudnn_version_from_int(long encoded);
/// ncclGetVersion: 10000 * major + 100 * minor + patch since NCCL 2.9, 1000 * major before.
Version nccl_version_from_int(int encoded);
/// The plugin's cuBLAS integers: 10000 * major + 100 * minor + patch.
Version cublas_version_from_int(int encoded);

}  // namespace kerosene::doctor
