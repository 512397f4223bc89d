#include "train/device_verdict.h"

#include <mutex>
#include <set>

#include <cstdio>
#include "kerosene/config.h"
#include "kerosene/doctor.h"
#include "runtime/device_context.h"
#include "runtime/log.h"

namespace kerosene::train {

std::string device_verdict(const Device& model_device) {
  if (model_device.is_gpu()) {
    const auto& physical = runtime::Registry::instance().context(model_device).physical();
    const std::string name = config::experimental::get_device_details(physical).device_name;
    return "Training will run on " + model_device.to_string() + " (" + name + ")";
  }
  if (!config::list_logical_devices("GPU").empty()) {
    return "Training will run on " + model_device.to_string() +
           " because the model was placed there (DeviceScope) although a GPU is available: /GPU:0";
  }
  return doctor::diagnose().verdict;
}

std::string short_verdict(const std::string& verdict) {
  const size_t fix = verdict.find("; fix: ");
  return fix == std::string::npos ? verdict : verdict.substr(0, fix) + " (the fix was logged at the first fit)";
}

namespace {

// Training off the GPUs is what a user most needs to hear about: a WARNING, which
// KEROSENE_MIN_LOG_LEVEL=1 keeps; on a GPU, or where the user put it, an INFO line.
log::Level level_of(const std::string& verdict) {
  return verdict.find(" because ") != std::string::npos ? log::Level::warning : log::Level::info;
}

// The verdict in full the first time this process logs it, shortened afterwards.
void log_verdict(const std::string& verdict) {
  static std::mutex mutex;
  static std::set<std::string> logged;
  bool first = false;
  {
    std::lock_guard lock(mutex);
    first = logged.insert(verdict).second;
  }
  log::write(level_of(verdict), first ? verdict : short_verdict(verdict));
}

}  // namespace

void announce_device(const Device& model_device) {
  if (log::enabled(log::Level::warning)) log_verdict(device_verdict(model_device));
}

}  // namespace kerosene::train

namespace kerosene::train {

std::string replicas_verdict(const std::vector<Device>& devices, int workers, const std::string& reduction) {
  std::string names;
  for (const Device& d : devices) names += (names.empty() ? "" : ", ") + d.to_string();
  const int replicas = static_cast<int>(devices.size()) * workers;
  std::string line = "Training will run on " + names + " (" + std::to_string(replicas) + " replicas in sync on " +
                     std::to_string(workers) + (workers == 1 ? " worker" : " workers") + "; gradients summed " +
                     (reduction == "in-process" ? "in-process" : "by " + reduction) + ")";
  if (!devices.front().is_gpu() && config::list_logical_devices("GPU").empty()) {
    const auto report = doctor::diagnose();
    line += "; not on GPUs because " + report.reason;
  }
  return line;
}

void announce_replicas(const std::vector<Device>& devices, int workers, const std::string& reduction) {
  if (log::enabled(log::Level::warning)) log_verdict(replicas_verdict(devices, workers, reduction));
}

}  // namespace kerosene::train
