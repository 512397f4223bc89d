#include "saving/config_fields.h"

#include "kerosene/error.h"

namespace kerosene::saving {

ordered_json keras_envelope(const std::string& module, const std::string& class_name, ordered_json config) {
  ordered_json e;
  e["module"] = module;
  e["class_name"] = class_name;
  e["config"] = std::move(config);
  e["registered_name"] = nullptr;
  return e;
}

std::string describe(const json& value) {
  std::string s = value.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

ConfigFields::ConfigFields(const json& config, std::string where) : config_(config), where_(std::move(where)) {
  if (!config_.is_object()) {
    throw ValueError(where_ + ": expected a config object, found " + describe(config_));
  }
}

bool ConfigFields::has(const std::string& key) const { return config_.contains(key); }

const json& ConfigFields::raw(const std::string& key) {
  static const json null_value = nullptr;
  used_.insert(key);
  const auto it = config_.find(key);
  return it == config_.end() ? null_value : *it;
}

void ConfigFields::fail(const std::string& key, const std::string& expected) const {
  const auto it = config_.find(key);
  std::string found = it == config_.end() ? std::string("nothing") : describe(*it);
  std::string message = where_;
  message += ": option \"";
  message += key;
  message += "\": expected ";
  message += expected;
  message += ", found ";
  message += found;
  throw ValueError(message);
}

std::string ConfigFields::string(const std::string& key, const std::optional<std::string>& fallback) {
  const json& v = raw(key);
  if (v.is_null() && fallback) return *fallback;
  if (!v.is_string()) fail(key, "a string");
  return v.get<std::string>();
}

int64_t ConfigFields::integer(const std::string& key, std::optional<int64_t> fallback) {
  const json& v = raw(key);
  if (v.is_null() && fallback) return *fallback;
  if (!v.is_number_integer()) fail(key, "a whole number");
  return v.get<int64_t>();
}

double ConfigFields::number(const std::string& key, std::optional<double> fallback) {
  const json& v = raw(key);
  if (v.is_null() && fallback) return *fallback;
  if (!v.is_number()) fail(key, "a number");
  return v.get<double>();
}

bool ConfigFields::boolean(const std::string& key, std::optional<bool> fallback) {
  const json& v = raw(key);
  if (v.is_null() && fallback) return *fallback;
  if (!v.is_boolean()) fail(key, "true or false");
  return v.get<bool>();
}

std::vector<int64_t> ConfigFields::integers(const std::string& key, size_t length, std::optional<std::vector<int64_t>> fallback) {
  const json& v = raw(key);
  if (v.is_null() && fallback) return *fallback;
  if (v.is_number_integer()) return std::vector<int64_t>(length, v.get<int64_t>());
  if (!v.is_array() || v.size() != length) fail(key, "a list of " + std::to_string(length) + " whole numbers");
  std::vector<int64_t> out;
  for (const json& e : v) {
    if (!e.is_number_integer()) fail(key, "a list of " + std::to_string(length) + " whole numbers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<std::optional<int64_t>> ConfigFields::shape(const std::string& key) {
  const json& v = raw(key);
  if (!v.is_array() || v.size() > 9) fail(key, "a shape (a list of sizes, the first one null)");
  std::vector<std::optional<int64_t>> out;
  for (const json& e : v) {
    if (e.is_null()) {
      out.emplace_back();
    } else if (e.is_number_integer() && e.get<int64_t>() > 0 && e.get<int64_t>() <= (int64_t{1} << 40)) {
      out.emplace_back(e.get<int64_t>());
    } else {
      fail(key, "a shape (a list of positive sizes or null)");
    }
  }
  return out;
}

void ConfigFields::require_default(const std::string& key, const json& default_value) {
  const json& v = raw(key);
  if (v.is_null() || v == default_value || (v.is_boolean() && !v.get<bool>() && default_value.is_null())) return;
  std::string message = where_;
  message += ": option \"";
  message += key;
  message += "\" = ";
  message += describe(v);
  message += " is not supported by kerosene (expected ";
  message += default_value.is_null() ? std::string("null") : describe(default_value);
  message += ")";
  throw ValueError(message);
}

void ConfigFields::ignore(std::initializer_list<const char*> keys) {
  for (const char* k : keys) used_.insert(k);
}

void ConfigFields::finish() const {
  std::string unknown;
  for (const auto& [key, value] : config_.items()) {
    if (used_.count(key)) continue;
    unknown += unknown.empty() ? "\"" : ", \"";
    unknown += key;
    unknown += "\"";
  }
  if (!unknown.empty()) {
    std::string message = where_;
    message += ": option ";
    message += unknown;
    message += " is not supported by kerosene";
    throw ValueError(message);
  }
}

}  // namespace kerosene::saving
