#include "kerosene/device.h"

#include <cctype>
#include <charconv>
#include <string>

#include "kerosene/error.h"

namespace kerosene {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool parse_int(std::string_view s, int& value) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  return ec == std::errc() && end == s.data() + s.size() && value >= 0;
}

[[noreturn]] void bad_spec(std::string_view spec, const std::string& why) {
  throw ValueError("cannot parse device \"" + std::string(spec) + "\": " + why +
                   "; expected one of \"/CPU:0\", \"CPU:0\", \"cpu:0\", \"/GPU:1\", "
                   "\"/device:GPU:1\" or \"/job:worker/replica:0/task:1/device:GPU:0\"");
}

}  // namespace

std::string_view device_type_name(DeviceType type) {
  return type == DeviceType::GPU ? "GPU" : "CPU";
}

Device Device::parse(std::string_view spec) {
  Device device;
  bool have_type = false;
  std::string_view rest = spec;
  // Split on '/', each part "key:value" (job, replica, task, device) or "TYPE:INDEX".
  while (!rest.empty()) {
    if (rest.front() == '/') {
      rest.remove_prefix(1);
      continue;
    }
    size_t slash = rest.find('/');
    std::string_view part = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
    size_t colon = part.find(':');
    std::string key = lower(part.substr(0, colon));
    std::string_view value =
        colon == std::string_view::npos ? std::string_view() : part.substr(colon + 1);
    if (key == "job") {
      if (value.empty()) bad_spec(spec, "empty job name");
      device.job_ = std::string(value);
    } else if (key == "replica" || key == "task") {
      int n = 0;
      if (!parse_int(value, n)) bad_spec(spec, "\"" + key + "\" needs a non-negative integer");
      (key == "task" ? device.task_ : device.replica_) = n;
    } else {
      if (key == "device") {  // "device:GPU:0"
        size_t c2 = value.find(':');
        key = lower(value.substr(0, c2));
        value = c2 == std::string_view::npos ? std::string_view() : value.substr(c2 + 1);
      }
      if (key == "cpu") {
        device.type_ = DeviceType::CPU;
      } else if (key == "gpu") {
        device.type_ = DeviceType::GPU;
      } else {
        bad_spec(spec, "unknown device type \"" + key + "\"");
      }
      if (have_type) bad_spec(spec, "more than one device type");
      have_type = true;
      if (!value.empty() && !parse_int(value, device.index_)) {
        bad_spec(spec, "the device index must be a non-negative integer");
      }
    }
  }
  if (!have_type) bad_spec(spec, "no device type");
  return device;
}

std::string Device::to_string() const {
  // Appended piece by piece: "/" + std::string trips a false -Wrestrict in GCC 12.
  std::string name = "/";
  name += device_type_name(type_);
  name += ':';
  name += std::to_string(index_);
  return name;
}

std::string Device::full_name() const {
  return "/job:" + job_ + "/replica:" + std::to_string(replica_) + "/task:" +
         std::to_string(task_) + "/device:" + std::string(device_type_name(type_)) + ":" +
         std::to_string(index_);
}

}  // namespace kerosene
