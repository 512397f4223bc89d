#include "cli/lr_schedule_flag.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <map>
#include <vector>

#include "kerosene/error.h"

namespace kerosene::cli {
namespace {

namespace schedules = optimizers::schedules;

struct Kind {
  std::vector<std::string> names;  // the command line's, then Keras' class name
  std::vector<std::string> keys;   // Keras' argument names, in Keras' order
  std::vector<std::string> required;
};

const std::vector<Kind>& kinds() {
  static const std::vector<Kind> table = {
      {{"exponential", "exponential_decay", "ExponentialDecay"},
       {"initial_learning_rate", "decay_steps", "decay_rate", "staircase"},
       {"decay_steps", "decay_rate"}},
      {{"piecewise_constant", "piecewise", "piecewise_constant_decay", "PiecewiseConstantDecay"},
       {"boundaries", "values"},
       {"boundaries", "values"}},
      {{"cosine", "cosine_decay", "CosineDecay"},
       {"initial_learning_rate", "decay_steps", "alpha", "warmup_target", "warmup_steps"},
       {"decay_steps"}},
      {{"inverse_time", "inverse_time_decay", "InverseTimeDecay"},
       {"initial_learning_rate", "decay_steps", "decay_rate", "staircase"},
       {"decay_steps", "decay_rate"}},
      {{"polynomial", "polynomial_decay", "PolynomialDecay"},
       {"initial_learning_rate", "decay_steps", "end_learning_rate", "power", "cycle"},
       {"decay_steps"}},
  };
  return table;
}

std::string join(const std::vector<std::string>& items, const std::string& last) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " " + last + " " : ", ") + items[i];
  }
  return out;
}

std::string kind_list() {
  std::vector<std::string> names;
  for (const Kind& k : kinds()) names.push_back(k.names.front() + " (" + k.names.back() + ")");
  return join(names, "or");
}

// The parsed "key=value" pairs of one spec, read by their Keras types.
class Parameters {
 public:
  Parameters(std::string spec, const Kind& kind) : spec_(std::move(spec)), kind_(kind) {}

  void add(const std::string& pair) {
    const size_t eq = pair.find('=');
    const std::string key = pair.substr(0, eq);
    if (std::find(kind_.keys.begin(), kind_.keys.end(), key) == kind_.keys.end()) {
      fail("unknown parameter \"" + key + "\"; " + takes());
    }
    if (eq == std::string::npos || eq + 1 == pair.size()) fail("parameter " + key + " has no value: write " + key + "=VALUE");
    if (!values_.emplace(key, pair.substr(eq + 1)).second) fail("parameter " + key + " is given twice");
  }

  void require() const {
    for (const std::string& key : kind_.required) {
      if (!values_.count(key)) fail("missing parameter " + key + "; " + takes() + " (" + join(kind_.required, "and") + " required)");
    }
  }

  bool has(const std::string& key) const { return values_.count(key) > 0; }

  float number(const std::string& key, float fallback) const {
    return has(key) ? to_number(key, values_.at(key)) : fallback;
  }

  int64_t steps(const std::string& key, int64_t fallback, int64_t least) const {
    return has(key) ? to_steps(key, values_.at(key), least) : fallback;
  }

  bool flag(const std::string& key) const {
    if (!has(key)) return false;
    const std::string& v = values_.at(key);
    if (v == "true" || v == "True") return true;
    if (v == "false" || v == "False") return false;
    fail("parameter " + key + " expects true or false, found \"" + v + "\"");
  }

  // A list written "a;b;c".
  std::vector<std::string> list(const std::string& key) const {
    std::vector<std::string> items;
    const std::string& v = values_.at(key);
    for (size_t start = 0;;) {
      const size_t semi = v.find(';', start);
      items.push_back(v.substr(start, semi == std::string::npos ? std::string::npos : semi - start));
      if (semi == std::string::npos) return items;
      start = semi + 1;
    }
  }

  float to_number(const std::string& key, const std::string& text) const {
    char* end = nullptr;
    const float v = std::strtof(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v)) {
      fail("parameter " + key + " expects a number, found \"" + text + "\"");
    }
    return v;
  }

  int64_t to_steps(const std::string& key, const std::string& text, int64_t least) const {
    const bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos && text.size() < 18;
    const int64_t v = digits ? std::strtoll(text.c_str(), nullptr, 10) : -1;
    if (v < least) {
      fail("parameter " + key + " expects a whole number of " + std::to_string(least) + " or more, found \"" + text + "\"");
    }
    return v;
  }

  [[noreturn]] void fail(const std::string& why) const { throw ValueError("--lr-schedule \"" + spec_ + "\": " + why); }

 private:
  std::string takes() const { return kind_.names.back() + " takes " + join(kind_.keys, "and"); }

  std::string spec_;
  const Kind& kind_;
  std::map<std::string, std::string> values_;
};

const Kind* find_kind(const std::string& name) {
  for (const Kind& k : kinds()) {
    if (std::find(k.names.begin(), k.names.end(), name) != k.names.end()) return &k;
  }
  return nullptr;
}

Parameters parse(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string name = spec.substr(0, colon);
  const Kind* kind = find_kind(name);
  if (kind == nullptr) {
    throw ValueError("--lr-schedule \"" + spec + "\": unknown schedule \"" + name + "\"; expected " + kind_list() +
                     ", then :parameter=value,...");
  }
  Parameters p(spec, *kind);
  if (colon != std::string::npos) {
    const std::string rest = spec.substr(colon + 1);
    for (size_t start = 0;;) {
      const size_t comma = rest.find(',', start);
      p.add(rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  p.require();
  return p;
}

}  // namespace

std::shared_ptr<const LearningRateSchedule> parse_lr_schedule(const std::string& spec, float initial_learning_rate) {
  const Parameters p = parse(spec);
  const std::string kind = find_kind(spec.substr(0, spec.find(':')))->names.back();
  const float initial = p.number("initial_learning_rate", initial_learning_rate);
  if (p.has("initial_learning_rate") && !(initial > 0)) p.fail("parameter initial_learning_rate must be greater than 0");
  try {
    if (kind == "ExponentialDecay") {
      return std::make_shared<schedules::ExponentialDecay>(initial, p.steps("decay_steps", 0, 1),
                                                           p.number("decay_rate", 0), p.flag("staircase"));
    }
    if (kind == "InverseTimeDecay") {
      return std::make_shared<schedules::InverseTimeDecay>(initial, p.steps("decay_steps", 0, 1),
                                                           p.number("decay_rate", 0), p.flag("staircase"));
    }
    if (kind == "CosineDecay") {
      std::optional<float> target;
      if (p.has("warmup_target")) target = p.number("warmup_target", 0);
      return std::make_shared<schedules::CosineDecay>(initial, p.steps("decay_steps", 0, 1), p.number("alpha", 0.0f),
                                                      target, p.steps("warmup_steps", 0, 0));
    }
    if (kind == "PolynomialDecay") {
      return std::make_shared<schedules::PolynomialDecay>(initial, p.steps("decay_steps", 0, 1),
                                                          p.number("end_learning_rate", 1e-4f),
                                                          p.number("power", 1.0f), p.flag("cycle"));
    }
    std::vector<int64_t> boundaries;
    std::vector<float> values;
    for (const std::string& b : p.list("boundaries")) boundaries.push_back(p.to_steps("boundaries", b, 0));
    for (const std::string& v : p.list("values")) values.push_back(p.to_number("values", v));
    if (values.size() != boundaries.size() + 1) {
      p.fail("values must have one more entry than boundaries (a rate before each boundary and one after the last), "
             "found " + std::to_string(values.size()) + " values for " + std::to_string(boundaries.size()) +
             " boundaries");
    }
    return std::make_shared<schedules::PiecewiseConstantDecay>(boundaries, values);
  } catch (const ValueError& e) {
    const std::string what = e.what();
    if (what.rfind("--lr-schedule", 0) == 0) throw;
    p.fail(what);
  }
}

bool lr_schedule_sets_initial_rate(const std::string& spec) {
  const Parameters p = parse(spec);
  return p.has("initial_learning_rate") || p.has("values");
}

const CLI::Validator& lr_schedule_spec() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        try {
          parse_lr_schedule(text, 0.001f);
          return "";
        } catch (const Error& e) {
          // CLI11 puts "--lr-schedule: " before it.
          const std::string what = e.what(), prefix = "--lr-schedule ";
          return what.rfind(prefix, 0) == 0 ? what.substr(prefix.size()) : what;
        }
      },
      "");
  return validator;
}

}  // namespace kerosene::cli
