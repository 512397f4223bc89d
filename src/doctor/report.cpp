// The verdict drawn from the checks, and the report as text and as JSON.
#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "doctor/checks.h"

namespace kerosene::doctor {
namespace {

bool passed(const std::vector<Check>& list, const char* name) {
  return std::any_of(list.begin(), list.end(),
                     [&](const Check& c) { return c.name == name && c.result == Result::pass; });
}

// The GPU that kerosene calls /GPU:0: the first one set_visible_devices left, else CUDA's first.
std::string first_gpu_name(const Facts& facts) {
  const std::vector<GpuDevice> devices = checks::cuda_devices(facts);
  size_t index = 0;
  if (facts.kerosene.known && !facts.kerosene.visible_gpus.empty()) {
    const std::string& name = facts.kerosene.visible_gpus.front();
    index = std::strtoul(name.c_str() + name.find_last_of(':') + 1, nullptr, 10);  // no throw on junk
  }
  return index < devices.size() ? devices[index].name : "unknown GPU";
}

const char* tag(Result result) {
  switch (result) {
    case Result::pass:
      return "[ OK ]";
    case Result::warn:
      return "[WARN]";
    case Result::fail:
      return "[FAIL]";
    case Result::skip:
      return "[SKIP]";
  }
  return "[ ?? ]";
}

}  // namespace

const char* result_name(Result result) {
  switch (result) {
    case Result::pass:
      return "pass";
    case Result::warn:
      return "warn";
    case Result::fail:
      return "fail";
    case Result::skip:
      return "skip";
  }
  return "unknown";
}

std::vector<Check> run_checks(const Facts& facts) {
  using namespace checks;
  std::vector<Check> out;
  const Check built = built_with_cuda(facts);
  const Check driver = driver_library(facts);
  out.push_back(built);
  out.push_back(plugin_loads(facts, built));
  out.push_back(kernel_driver(facts));
  out.push_back(driver);
  out.push_back(driver_supports_runtime(facts, driver));
  out.push_back(cublas(facts));
  out.push_back(cudnn(facts));
  out.push_back(nccl(facts));
  out.push_back(cuda_visible_devices(facts));
  const Check found = gpus_found(facts, driver);
  out.push_back(found);
  out.push_back(visible_to_kerosene(facts, found));
  out.push_back(kernels_cover(facts, found));
  out.push_back(memory_held_by_others(facts));
  return out;
}

Report diagnose(const Facts& facts) {
  Report r;
  r.checks = run_checks(facts);
  const auto failed =
      std::find_if(r.checks.begin(), r.checks.end(), [](const Check& c) { return c.result == Result::fail; });
  const bool gpu_found = passed(r.checks, checks::kPluginLoads) && passed(r.checks, checks::kGpusFound);
  if (failed == r.checks.end() && gpu_found) {
    r.gpu_usable = true;
    r.device = "/GPU:0";
    r.device_name = first_gpu_name(facts);
    r.verdict = "Training will run on /GPU:0 (" + r.device_name + ")";
    return r;
  }
  r.device = "/CPU:0";
  if (failed != r.checks.end()) {
    r.reason = failed->reason.empty() ? failed->name + " failed: " + failed->detail : failed->reason;
    r.fix = failed->fix;
  } else {
    r.reason = "no check failed, yet no GPU was found usable";
    r.fix = "report this with the output of kerosene doctor --json";
  }
  r.verdict = "Training will run on /CPU:0 because " + r.reason + "; fix: " + r.fix;
  return r;
}

std::string Report::to_text() const {
  std::string out;
  for (const Check& c : checks) {
    out += std::string(tag(c.result)) + " " + c.name + ": " + c.detail + "\n";
    if (!c.fix.empty() && (c.result == Result::fail || c.result == Result::warn)) out += "       fix: " + c.fix + "\n";
  }
  return out + "\n" + verdict + "\n";
}

std::string Report::to_json() const {
  // ordered_json: keys in the order written, which reads better than sorted.
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const Check& c : checks) {
    nlohmann::ordered_json j = {{"name", c.name}, {"result", result_name(c.result)}, {"detail", c.detail}};
    if (!c.fix.empty()) j["fix"] = c.fix;
    if (!c.reason.empty()) j["reason"] = c.reason;
    list.push_back(j);
  }
  const nlohmann::ordered_json out = {{"checks", list},    {"gpu_usable", gpu_usable},
                                      {"device", device},  {"device_name", device_name},
                                      {"reason", reason},  {"fix", fix},
                                      {"verdict", verdict}};
  // Replace invalid UTF-8 (a library path, a driver's message) rather than throw.
  return out.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace kerosene::doctor
