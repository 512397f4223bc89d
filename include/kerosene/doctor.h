// kerosene doctor: why a GPU is, or is not, used — every check in order, and one verdict.
//
//   auto report = kerosene::doctor::diagnose();
//   std::cout << report.to_text();          // each check with its result, then the verdict
//   // "Training will run on /GPU:0 (NVIDIA H100 80GB HBM3)"
//   // "Training will run on /CPU:0 because no NVIDIA kernel driver is loaded ...; fix: ..."
//
// diagnose() never initializes the runtime and never throws for a missing GPU: finding out why
// there is none is its job.
#pragma once

#include <string>
#include <vector>

namespace kerosene::doctor {

enum class Result { pass, warn, fail, skip };

struct Check {
  std::string name;    ///< what was checked, e.g. "NVIDIA kernel driver"
  Result result = Result::skip;
  std::string detail;  ///< what was found (versions, paths, the loader's own error text)
  std::string fix;     ///< what to do, when the check failed or warned
  std::string reason;  ///< when it failed: why, as a clause for the verdict ("no NVIDIA kernel
                       ///< driver is loaded (/proc/driver/nvidia/version is absent)")
};

/// "pass", "warn", "fail", "skip": the words to_json() uses.
const char* result_name(Result result);

struct Report {
  std::vector<Check> checks;
  bool gpu_usable = false;
  std::string device;       ///< where training runs by default: "/GPU:0" or "/CPU:0"
  std::string device_name;  ///< the GPU's name when gpu_usable
  std::string reason;       ///< the first failing check, in words, when !gpu_usable
  std::string fix;          ///< what to do about it
  /// "Training will run on /GPU:0 (<name>)" or
  /// "Training will run on /CPU:0 because <reason>; fix: <fix>".
  std::string verdict;

  /// Every check on its own line ("[ OK ]", "[WARN]", "[FAIL]", "[SKIP]"), then the verdict.
  std::string to_text() const;
  /// The same as one JSON object: {"checks": [...], "gpu_usable", "device", "verdict", ...}.
  std::string to_json() const;
};

/// Runs every check. The first call probes the system (it loads libcuda, cuBLAS, cuDNN, NCCL
/// and NVML where they exist; about 0.1 to 2 s); later calls reuse those probes and re-read
/// only kerosene's own device configuration. Thread-safe.
Report diagnose();

}  // namespace kerosene::doctor
