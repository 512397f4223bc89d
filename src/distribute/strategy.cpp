// Strategy, MirroredStrategy and the scope that makes models mirrored.
#include <algorithm>
#include <set>

#include "distribute/local_collective.h"
#include "distribute/mirrored_model.h"
#include "distribute/strategy_state.h"
#include "kerosene/config.h"
#include "kerosene/error.h"
#include "runtime/device_context.h"

namespace kerosene::distribute {
std::vector<Device> resolve_devices(const std::vector<std::string>& names, bool cpu_default_all) {
  auto& registry = runtime::Registry::instance();
  std::vector<Device> devices;
  if (names.empty()) {
    const auto logical = registry.logical_devices("a distribution strategy was created");
    for (const Device& d : logical) {
      if (d.is_gpu()) devices.push_back(d);
    }
    if (devices.empty()) {
      for (const Device& d : logical) {
        if (!d.is_gpu() && (cpu_default_all || devices.empty())) devices.push_back(d);
      }
    }
    return devices;
  }
  std::set<std::string> seen;
  for (const std::string& name : names) {
    const Device d = Device::parse(name);
    if (!seen.insert(d.to_string()).second) {
      throw ValueError("device " + d.to_string() + " is listed twice; each replica needs its own device");
    }
    registry.context(d, "a distribution strategy was created");  // throws, with the diagnosis, if missing
    devices.push_back(d);
  }
  const bool gpus = devices.front().is_gpu();
  if (std::any_of(devices.begin(), devices.end(), [&](const Device& d) { return d.is_gpu() != gpus; })) {
    throw DeviceError("a strategy's devices must all be GPUs or all CPUs; got a mix, which would make the GPUs wait "
                      "for the CPU at every step");
  }
  return devices;
}

Strategy::~Strategy() = default;

int Strategy::num_replicas_in_sync() const {
  return static_cast<int>(state_->devices.size()) * state_->num_workers;
}
std::vector<Device> Strategy::devices() const { return state_->devices; }
int Strategy::num_workers() const { return state_->num_workers; }
int Strategy::worker_index() const { return state_->worker_index; }
bool Strategy::is_chief() const { return state_->chief; }
std::string Strategy::reduction() const { return state_->collective->name(); }

MirroredStrategy::MirroredStrategy(const std::vector<std::string>& devices) {
  state_ = std::make_shared<detail::StrategyState>();
  state_->devices = resolve_devices(devices, /*cpu_default_all=*/true);
  state_->collective = make_local_collective(state_->devices);
}

StrategyScope::StrategyScope(const Strategy& strategy) : previous_(train::set_current_distribution(strategy.state())) {}
StrategyScope::~StrategyScope() { train::set_current_distribution(std::move(previous_)); }

std::shared_ptr<detail::StrategyState> current_strategy() {
  return std::dynamic_pointer_cast<detail::StrategyState>(train::current_distribution());
}

namespace detail {
std::shared_ptr<train::Replicas> StrategyState::mirror(train::ModelState& primary) {
  return std::make_shared<MirroredModel>(shared_from_this(), primary);
}
}  // namespace detail

}  // namespace kerosene::distribute
