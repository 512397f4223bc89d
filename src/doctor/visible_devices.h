// CUDA_VISIBLE_DEVICES, read the way CUDA reads it, as a pure function of the variable's value
// and the machine's GPUs (NVML's physical list, which the variable does not filter).
//
// CUDA's rules: unset -> every GPU; set but empty -> none; otherwise comma-separated entries,
// each a decimal index, a "GPU-" UUID prefix that matches exactly one GPU, or a "MIG-" name of a
// MIG instance. Parsing stops at the first invalid entry (an index out of range, a UUID that
// matches no GPU or several, a GPU already listed, "-1", anything else) and every entry after
// it is dropped: "0,-1,1" selects GPU 0 only. Spaces around an entry are ignored.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kerosene::doctor {

/// One physical GPU as NVML numbers it (its position in the list is its index).
struct GpuIdentity {
  std::string uuid;                    ///< "GPU-8d5a1c2e-..."
  std::vector<std::string> mig_uuids;  ///< "MIG-..." of its MIG instances (MIG mode only)
};

/// An entry CUDA accepted: visible[i] becomes CUDA device i.
struct VisibleEntry {
  std::string entry;     ///< as written in the variable
  int gpu = -1;          ///< physical index; -1 when the machine's GPUs are unknown
  std::string mig_uuid;  ///< the MIG instance selected, when the entry names one
};

struct VisibleDevices {
  bool is_set = false;
  std::string value;
  bool gpus_known = false;            ///< whether the machine's GPU list was given
  std::vector<VisibleEntry> visible;  ///< in CUDA's order
  std::vector<int> hidden;            ///< physical GPUs no entry selects (when gpus_known)
  std::string stopped_at;             ///< the invalid entry where parsing stopped, if any
  std::string stop_reason;            ///< why that entry is invalid
  std::vector<std::string> dropped;   ///< the entries after it, which CUDA ignores
  std::string message;                ///< all of the above in one sentence, for the doctor

  /// The variable is set and no entry survives: CUDA shows no device at all.
  bool hides_all() const { return is_set && visible.empty(); }
};

/// `value`: the variable (nullopt when unset). `gpus`: the machine's GPUs, or nullopt when they
/// are unknown (no NVML); then indices cannot be range-checked nor UUIDs matched, and only
/// what is certain from the text is reported.
VisibleDevices parse_visible_devices(const std::optional<std::string>& value,
                                     const std::optional<std::vector<GpuIdentity>>& gpus);

}  // namespace kerosene::doctor
