#include "kerosene/mixed_precision.h"

#include <mutex>

#include "kerosene/error.h"

namespace kerosene::mixed_precision {
namespace {
std::mutex mutex;
std::string global_name = "float32";
}  // namespace

DTypePolicy::DTypePolicy(const std::string& name) : name_(name) {
  if (name == "float32" || name == "mixed_bfloat16" || name == "mixed_float16") return;
  if (name == "bfloat16" || name == "float16") {
    throw ValueError("dtype policy \"" + name + "\" keeps its variables in 16 bit, which kerosene does not do; use \"mixed_" +
                     name + "\" (float32 variables, " + name + " compute)");
  }
  throw ValueError("unknown dtype policy \"" + name + "\"; expected \"float32\", \"mixed_bfloat16\" or \"mixed_float16\"");
}

std::string DTypePolicy::compute_dtype() const {
  if (name_ == "mixed_bfloat16") return "bfloat16";
  if (name_ == "mixed_float16") return "float16";
  return "float32";
}

void set_global_policy(const std::string& name) { set_global_policy(DTypePolicy(name)); }

void set_global_policy(const DTypePolicy& policy) {
  std::lock_guard lock(mutex);
  global_name = policy.name();
}

DTypePolicy global_policy() {
  std::lock_guard lock(mutex);
  return DTypePolicy(global_name);
}

}  // namespace kerosene::mixed_precision
