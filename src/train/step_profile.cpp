#include "train/step_profile.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "kerosene/error.h"

namespace kerosene::train {
namespace {

std::string profile_setting() {
  const char* value = std::getenv("KEROSENE_PROFILE");
  return value && *value && std::string(value) != "0" ? value : "";
}

bool ends_with(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

double per_step_ms(double seconds, int64_t steps) { return steps > 0 ? 1e3 * seconds / static_cast<double>(steps) : 0.0; }

}  // namespace

void begin_step_profile(ModelState& state) {
  state.profile = StepProfile{};
  state.profile.enabled = !profile_setting().empty() && !state.distribution;
}

std::string format_step_profile(const ModelState& state) {
  const StepProfile& p = state.profile;
  std::string out = "kerosene profile of \"" + state.name + "\" on " + state.device.to_string() + ": " +
                    std::to_string(p.steps) + " training steps, milliseconds per step (wall-clock, and CPU time of "
                    "all threads)\n";
  char line[200];
  std::snprintf(line, sizeof line, "  %-28s %10s %10s %10s %10s\n", "part", "forward", "backward", "fwd cpu", "bwd cpu");
  out += line;
  StepProfile::Time total;
  auto row = [&](const std::string& name, const StepProfile::Time& f, const StepProfile::Time* b) {
    total.wall += f.wall + (b ? b->wall : 0.0);
    total.cpu += f.cpu + (b ? b->cpu : 0.0);
    if (b) {
      std::snprintf(line, sizeof line, "  %-28s %10.3f %10.3f %10.3f %10.3f\n", name.c_str(), per_step_ms(f.wall, p.steps),
                    per_step_ms(b->wall, p.steps), per_step_ms(f.cpu, p.steps), per_step_ms(b->cpu, p.steps));
    } else {
      std::snprintf(line, sizeof line, "  %-28s %10.3f %10s %10.3f\n", name.c_str(), per_step_ms(f.wall, p.steps), "",
                    per_step_ms(f.cpu, p.steps));
    }
    out += line;
  };
  for (size_t i = 0; i < state.nodes.size() && i < p.forward.size(); ++i) {
    if (!state.nodes[i].is_input()) row(state.nodes[i].layer->name(), p.forward[i], &p.backward[i]);
  }
  row("loss and metrics", p.loss, nullptr);
  row("optimizer", p.optimizer, nullptr);
  const StepProfile::Time step = total;
  row("step", step, nullptr);
  return out;
}

void end_step_profile(ModelState& state) {
  const std::string setting = profile_setting();
  if (setting.empty() || !state.profile.enabled) return;
  state.profile.enabled = false;
  if (!ends_with(setting, ".json")) {
    std::cerr << format_step_profile(state) << std::flush;
    return;
  }
  const StepProfile& p = state.profile;
  nlohmann::json layers = nlohmann::json::array();
  for (size_t i = 0; i < state.nodes.size() && i < p.forward.size(); ++i) {
    if (state.nodes[i].is_input()) continue;
    layers.push_back({{"name", state.nodes[i].layer->name()},
                      {"forward_ms", per_step_ms(p.forward[i].wall, p.steps)},
                      {"backward_ms", per_step_ms(p.backward[i].wall, p.steps)},
                      {"forward_cpu_ms", per_step_ms(p.forward[i].cpu, p.steps)},
                      {"backward_cpu_ms", per_step_ms(p.backward[i].cpu, p.steps)}});
  }
  const nlohmann::json report = {{"model", state.name},
                                 {"device", state.device.to_string()},
                                 {"steps", p.steps},
                                 {"layers", layers},
                                 {"loss_ms", per_step_ms(p.loss.wall, p.steps)},
                                 {"loss_cpu_ms", per_step_ms(p.loss.cpu, p.steps)},
                                 {"optimizer_ms", per_step_ms(p.optimizer.wall, p.steps)},
                                 {"optimizer_cpu_ms", per_step_ms(p.optimizer.cpu, p.steps)}};
  std::ofstream file(setting);
  file << report.dump(2) << "\n";
  if (!file) throw IOError("KEROSENE_PROFILE: cannot write the profile to '" + setting + "'");
}

}  // namespace kerosene::train
