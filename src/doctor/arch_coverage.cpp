#include "doctor/arch_coverage.h"

#include <cctype>
#include <sstream>

namespace kerosene::doctor {
namespace {

struct Arch {
  bool ptx = false;
  int number = 0;   ///< 10 * major + minor: 90 for sm_90, 100 for sm_100
  char suffix = 0;  ///< 'a', 'f' or 0
};

bool parse_arch(const std::string& token, Arch& arch) {
  std::string digits;
  if (token.rfind("sm_", 0) == 0) {
    digits = token.substr(3);
  } else if (token.rfind("compute_", 0) == 0) {
    arch.ptx = true;
    digits = token.substr(8);
  } else {
    return false;
  }
  if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
    arch.suffix = digits.back();
    digits.pop_back();
  }
  if (digits.empty() || digits.size() > 4) return false;
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  arch.number = std::stoi(digits);
  return true;
}

bool runs_natively(const Arch& arch, int device) {
  if (arch.suffix == 'a') return arch.number == device;
  return arch.number / 10 == device / 10 && arch.number % 10 <= device % 10;
}

}  // namespace

CoverageAnswer kernel_coverage(const std::string& architectures, int compute_major, int compute_minor) {
  const int device = 10 * compute_major + compute_minor;
  std::string text = architectures;
  for (char& c : text) {
    if (c == ';' || c == ',') c = ' ';
  }
  std::istringstream tokens(text);
  int best_native = -1, best_ptx = -1;
  std::string native_name, ptx_name;
  for (std::string token; tokens >> token;) {
    Arch arch;
    if (!parse_arch(token, arch)) continue;
    if (!arch.ptx && runs_natively(arch, device) && arch.number > best_native) {
      best_native = arch.number;
      native_name = token;
    }
    // Architecture-specific PTX (compute_90a) JITs only for that very architecture.
    const bool jits = arch.suffix == 'a' ? arch.number == device : arch.number <= device;
    if (arch.ptx && jits && arch.number > best_ptx) {
      best_ptx = arch.number;
      ptx_name = token;
    }
  }
  if (best_native >= 0) return {Coverage::native, native_name};
  if (best_ptx >= 0) return {Coverage::ptx_jit, ptx_name};
  return {Coverage::none, ""};
}

}  // namespace kerosene::doctor
