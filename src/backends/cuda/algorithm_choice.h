// How one convolution direction's cuDNN algorithms are tried, as pure logic (no cuDNN type), so
// that the CPU test suite checks it (tests/backends/algorithm_choice_test.cpp):
//  - an algorithm cuDNN does not support for this shape is skipped for good;
//  - one skipped because its workspace could not be had is tried again later (memory comes
//    back), not given up for the life of the process;
//  - a misuse of cuDNN (a BAD_PARAM-class status: our descriptor or argument is wrong) is an
//    error in strict mode (KEROSENE_CUDNN_STRICT=1: tests, op_check, gpu_check.sh), and
//    otherwise a fallback that is logged like any other;
//  - when nothing ran, the caller falls back to the direct kernels and logs it once per reason.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kerosene::backends::cuda_impl {

/// `failed`: a real failure (the device, a non-memory allocation error): stop and report it.
enum class AlgoOutcome { ran, not_supported, no_memory, misuse, failed };

struct AlgoResult {
  int algo = -1;        ///< the algorithm that ran; -1: none did
  bool error = false;   ///< a failure, or a misuse in strict mode: report it, do not fall back
  std::string reason;   ///< why none ran (or the error)
};

class AlgorithmChoice {
 public:
  /// Calls after an out-of-memory skip before that algorithm is tried again.
  static constexpr int64_t kRetryAfterCalls = 50;

  bool ranked() const { return ranked_; }
  /// The candidates, best first.
  void rank(std::vector<int> algos) {
    algos_ = std::move(algos);
    unsupported_.assign(algos_.size(), false);
    retry_at_.assign(algos_.size(), 0);
    ranked_ = true;
  }

  /// Tries the candidates in order: `attempt(algo, why)` returns the outcome and, when the
  /// algorithm did not run, says why in `why`.
  template <typename Attempt>
  AlgoResult choose(Attempt&& attempt, bool strict) {
    ++calls_;
    AlgoResult result;
    for (size_t i = 0; i < algos_.size(); ++i) {
      if (unsupported_[i] || retry_at_[i] > calls_) continue;
      std::string why;
      switch (attempt(algos_[i], why)) {
        case AlgoOutcome::ran:
          result.algo = algos_[i];
          return result;
        case AlgoOutcome::no_memory:
          retry_at_[i] = calls_ + kRetryAfterCalls;
          result.reason = "algorithm " + std::to_string(algos_[i]) + ": " + why + " (tried again later)";
          break;
        case AlgoOutcome::failed:
          return {-1, true, why};
        case AlgoOutcome::misuse:
          if (strict) return {-1, true, "algorithm " + std::to_string(algos_[i]) + ": " + why};
          [[fallthrough]];
        case AlgoOutcome::not_supported:
          unsupported_[i] = true;
          result.reason = "algorithm " + std::to_string(algos_[i]) + ": " + why;
          break;
      }
    }
    if (!result.reason.empty()) last_reason_ = result.reason;  // else none was tried: the earlier reason holds
    result.reason = last_reason_.empty() ? "cuDNN offers no algorithm" : last_reason_;
    return result;
  }

  /// True the first time a fallback for `reason` is to be logged; false for a repeat.
  bool first_fallback(const std::string& reason) {
    if (reason == logged_) return false;
    logged_ = reason;
    return true;
  }

 private:
  bool ranked_ = false;
  std::vector<int> algos_;
  std::vector<bool> unsupported_;
  std::vector<int64_t> retry_at_;
  int64_t calls_ = 0;
  std::string last_reason_, logged_;
};

}  // namespace kerosene::backends::cuda_impl
