#include "cli/device_commands.h"

#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "doctor/text.h"
#include "kerosene/config.h"
#include "kerosene/doctor.h"

namespace kerosene::cli {
namespace {

namespace experimental = config::experimental;
using Json = nlohmann::ordered_json;  // keys in the order written

Json physical_json(const config::PhysicalDevice& d) {
  Json j = {{"name", d.name}, {"device_type", d.device_type}};
  const experimental::DeviceDetails details = experimental::get_device_details(d);
  j["device_name"] = details.device_name;
  j["total_memory"] = details.total_memory;
  if (d.device_type == "GPU") {
    j["compute_capability"] =
        std::to_string(details.compute_capability_major) + "." + std::to_string(details.compute_capability_minor);
    j["uuid"] = details.uuid;
    j["pci_bus_id"] = details.pci_bus_id;
  }
  return j;
}

Json logical_json(const config::LogicalDevice& d) {
  const MemoryInfo m = experimental::get_memory_info(d.name);
  return {{"name", d.name},
          {"device_type", d.device_type},
          {"memory", {{"current", m.current}, {"peak", m.peak}, {"reserved", m.reserved}, {"limit", m.limit}}}};
}

void print_text(const Json& devices) {
  using doctor::bytes_text;
  std::cout << "Physical devices:\n";
  for (const auto& d : devices["physical_devices"]) {
    std::cout << "  " << d["name"].get<std::string>() << "  " << d["device_name"].get<std::string>();
    if (d.contains("compute_capability")) {
      std::cout << ", compute capability " << d["compute_capability"].get<std::string>();
    }
    if (d["total_memory"].get<size_t>() > 0) std::cout << ", " << bytes_text(d["total_memory"].get<size_t>());
    std::cout << "\n";
  }
  std::cout << "Logical devices:\n";
  for (const auto& d : devices["logical_devices"]) {
    const auto& m = d["memory"];
    const size_t limit = m["limit"].get<size_t>();
    std::cout << "  " << d["name"].get<std::string>() << "  in use " << bytes_text(m["current"].get<size_t>())
              << ", peak " << bytes_text(m["peak"].get<size_t>()) << ", reserved "
              << bytes_text(m["reserved"].get<size_t>()) << ", limit " << (limit ? bytes_text(limit) : "none") << "\n";
  }
}

}  // namespace

int run_devices(bool json) {
  Json out = {{"physical_devices", Json::array()}, {"logical_devices", Json::array()}};
  bool any_gpu = false;
  for (const auto& d : config::list_physical_devices()) {
    out["physical_devices"].push_back(physical_json(d));
    any_gpu = any_gpu || d.device_type == "GPU";
  }
  for (const auto& d : config::list_logical_devices()) out["logical_devices"].push_back(logical_json(d));
  if (json) {
    std::cout << out.dump(-1, ' ', false, Json::error_handler_t::replace) << std::endl;
  } else {
    print_text(out);
    if (!any_gpu) std::cout << "No GPU is usable: `kerosene doctor` says why.\n";
  }
  return 0;
}

int run_doctor(bool json) {
  const doctor::Report report = doctor::diagnose();
  std::cout << (json ? report.to_json() + "\n" : report.to_text()) << std::flush;
  return report.gpu_usable ? 0 : 1;
}

}  // namespace kerosene::cli
