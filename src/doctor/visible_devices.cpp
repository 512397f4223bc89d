#include "doctor/visible_devices.h"

#include <algorithm>
#include <charconv>
#include <cstddef>

#include "doctor/text.h"

namespace kerosene::doctor {
namespace {

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

std::vector<std::string> split_entries(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = value.find(',', start);
    out.push_back(trim(value.substr(start, comma - start)));
    if (comma == std::string::npos) return out;
    start = comma + 1;
  }
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string index_list(const std::vector<int>& gpus) {
  std::vector<std::string> names;
  for (int g : gpus) names.push_back("GPU " + std::to_string(g));
  return join(names, ", ");
}

// Reads the entries in order, as CUDA does, until the first invalid one.
class Reader {
 public:
  Reader(VisibleDevices& out, const std::optional<std::vector<GpuIdentity>>& gpus) : out_(out), gpus_(gpus) {}

  // Takes `entry`, or returns why it is invalid.
  std::string take(const std::string& entry) {
    if (entry.empty()) return "an empty entry";
    if (entry[0] == '-' && all_digits(entry.substr(1))) {
      return "a negative index ends the list";
    }
    if (all_digits(entry)) return take_index(entry);
    if (starts_with(entry, "GPU-") && entry.size() > 4) return take_uuid(entry);
    if (starts_with(entry, "MIG-") && entry.size() > 4) return take_mig(entry);
    return "not a GPU index, a GPU-<uuid> prefix or a MIG-<uuid> name";
  }

 private:
  std::string take_index(const std::string& entry) {
    int index = 0;
    auto [end, ec] = std::from_chars(entry.data(), entry.data() + entry.size(), index);
    if (ec != std::errc() || end != entry.data() + entry.size()) return "an index too large to be a GPU";
    if (gpus_ && index >= static_cast<int>(gpus_->size())) {
      return "there is no GPU " + entry + ": the machine has " + count_text(gpus_->size()) +
             (gpus_->empty() ? "" : " (indices 0-" + std::to_string(gpus_->size() - 1) + ")");
    }
    return accept(entry, gpus_ ? index : -1, "", "index " + entry);
  }

  std::string take_uuid(const std::string& entry) {
    if (!gpus_) return accept(entry, -1, "", entry);
    std::vector<int> matches;
    for (size_t i = 0; i < gpus_->size(); ++i) {
      if (starts_with((*gpus_)[i].uuid, entry)) matches.push_back(static_cast<int>(i));
    }
    if (matches.empty()) return "it matches no GPU's UUID (nvidia-smi -L lists them)";
    if (matches.size() > 1) return "it matches several GPUs (" + index_list(matches) + "): give more of the UUID";
    return accept(entry, matches[0], "", entry);
  }

  std::string take_mig(const std::string& entry) {
    if (!gpus_) return accept(entry, -1, entry, entry);
    int gpu = -1;
    std::string mig;
    int found = 0;
    for (size_t i = 0; i < gpus_->size(); ++i) {
      for (const std::string& uuid : (*gpus_)[i].mig_uuids) {
        if (starts_with(uuid, entry)) gpu = static_cast<int>(i), mig = uuid, ++found;
      }
    }
    if (found == 0) return "it matches no MIG instance (nvidia-smi -L lists them)";
    if (found > 1) return "it matches several MIG instances: give more of the UUID";
    return accept(entry, gpu, mig, entry);
  }

  // `key` identifies what the entry selects, to refuse a second entry selecting it again.
  std::string accept(const std::string& entry, int gpu, const std::string& mig, const std::string& key) {
    const std::string identity = gpu >= 0 && mig.empty() ? "GPU " + std::to_string(gpu) : mig.empty() ? key : mig;
    if (std::find(taken_.begin(), taken_.end(), identity) != taken_.end()) {
      return identity + " is already listed";
    }
    taken_.push_back(identity);
    out_.visible.push_back({entry, gpu, mig});
    return "";
  }

  VisibleDevices& out_;
  const std::optional<std::vector<GpuIdentity>>& gpus_;
  std::vector<std::string> taken_;
};

std::string describe_entry(const VisibleEntry& e) {
  if (!e.mig_uuid.empty()) return e.gpu >= 0 ? e.mig_uuid + " on GPU " + std::to_string(e.gpu) : e.mig_uuid;
  if (e.gpu < 0) return all_digits(e.entry) ? "index " + e.entry : e.entry;
  return "GPU " + std::to_string(e.gpu) + (e.entry == std::to_string(e.gpu) ? "" : " (" + e.entry + ")");
}

std::string describe(const VisibleDevices& v) {
  std::string text = "CUDA_VISIBLE_DEVICES=\"" + v.value + "\" ";
  if (v.visible.empty()) {
    text += "hides every GPU";
  } else {
    std::vector<std::string> names;
    for (const VisibleEntry& e : v.visible) names.push_back(describe_entry(e));
    text += "selects " + join(names, ", ");
    if (!v.hidden.empty()) text += "; hides " + index_list(v.hidden);
  }
  if (v.value.empty()) return text + " (set but empty)";
  if (!v.stopped_at.empty()) {
    text += "; CUDA stopped reading at \"" + v.stopped_at + "\" (" + v.stop_reason + ")";
    if (!v.dropped.empty()) text += " and ignores what follows (\"" + join(v.dropped, ",") + "\")";
  }
  return text;
}

}  // namespace

VisibleDevices parse_visible_devices(const std::optional<std::string>& value,
                                     const std::optional<std::vector<GpuIdentity>>& gpus) {
  VisibleDevices out;
  out.gpus_known = gpus.has_value();
  if (!value) {
    if (gpus) {
      for (size_t i = 0; i < gpus->size(); ++i) out.visible.push_back({std::to_string(i), static_cast<int>(i), ""});
    }
    out.message = "not set: every GPU is visible" + (gpus ? " (" + count_text(gpus->size()) + ")" : std::string());
    return out;
  }
  out.is_set = true;
  out.value = *value;
  if (!value->empty()) {
    Reader reader(out, gpus);
    const std::vector<std::string> entries = split_entries(*value);
    for (size_t i = 0; i < entries.size(); ++i) {
      const std::string why = reader.take(entries[i]);
      if (why.empty()) continue;
      out.stopped_at = entries[i];
      out.stop_reason = why;
      out.dropped.assign(entries.begin() + static_cast<std::ptrdiff_t>(i) + 1, entries.end());
      break;
    }
  }
  if (gpus) {
    for (size_t i = 0; i < gpus->size(); ++i) {
      const int gpu = static_cast<int>(i);
      const bool selected =
          std::any_of(out.visible.begin(), out.visible.end(), [&](const VisibleEntry& e) { return e.gpu == gpu; });
      if (!selected) out.hidden.push_back(gpu);
    }
  }
  out.message = describe(out);
  return out;
}

}  // namespace kerosene::doctor
