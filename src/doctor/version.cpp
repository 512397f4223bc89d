#include "doctor/version.h"

#include <cstdio>

namespace kerosene::doctor {

std::string Version::text(int parts) const {
  if (!known()) return "unknown";
  std::string out = std::to_string(major) + "." + std::to_string(minor);
  return parts >= 3 ? out + "." + std::to_string(patch) : out;
}

Version parse_version(const std::string& text) {
  Version v;
  if (std::sscanf(text.c_str(), "%d.%d.%d", &v.major, &v.minor, &v.patch) < 1) return {};
  return v;
}

Version cuda_version_from_int(int encoded) {
  if (encoded <= 0) return {};
  return {encoded / 1000, (encoded % 1000) / 10, 0};
}

Version cudnn_version_from_int(long encoded) {
  if (encoded <= 0) return {};
  const long unit = encoded >= 10000 ? 10000 : 1000;
  return {static_cast<int>(encoded / unit), static_cast<int>((encoded % unit) / 100), static_cast<int>(encoded % 100)};
}

Version nccl_version_from_int(int encoded) {
  if (encoded <= 0) return {};
  const int unit = encoded >= 20900 ? 10000 : 1000;
  return {encoded / unit, (encoded % unit) / 100, encoded % 100};
}

Version cublas_version_from_int(int encoded) {
  if (encoded <= 0) return {};
  return {encoded / 10000, (encoded % 10000) / 100, encoded % 100};
}

}  // namespace kerosene::doctor
