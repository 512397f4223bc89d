#include "train/device_verdict.h"

#include <mutex>
#include <set>

#include <cstdio>
#include "kerosene/config.h"
#include "kerosene/doctor.h"
#include "runtime/device_context.h"

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

void announce_device(const Device& model_device) {
  static std::mutex mutex;
  static std::set<std::string> announced;
  std::lock_guard lock(mutex);
  if (!announced.insert(model_device.to_string()).second) return;
  std::fprintf(stderr, "kerosene: %s\n", device_verdict(model_device).c_str());
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
  static std::once_flag once;
  std::call_once(once, [&] { std::fprintf(stderr, "kerosene: %s\n", replicas_verdict(devices, workers, reduction).c_str()); });
}

}  // namespace kerosene::train
