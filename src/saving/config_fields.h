// Reading one Keras config dict (a layer's, an optimizer's) with errors that name the file, the
// object and the option, and with every key accounted for: a key kerosene neither uses nor knows
// to be harmless is an option it does not support, and says so instead of being ignored.
#pragma once

#include <initializer_list>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kerosene::saving {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

class ConfigFields {
 public:
  /// `where`: "m.keras: layer \"dense\" (Dense)", the prefix of every message.
  ConfigFields(const json& config, std::string where);

  const std::string& where() const { return where_; }
  bool has(const std::string& key) const;
  /// The raw value (null when absent); marks the key as used.
  const json& raw(const std::string& key);

  std::string string(const std::string& key, const std::optional<std::string>& fallback = std::nullopt);
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt);
  double number(const std::string& key, std::optional<double> fallback = std::nullopt);
  bool boolean(const std::string& key, std::optional<bool> fallback = std::nullopt);
  /// A list of integers; a single integer n is read as {n, n, ...} of `length` (Keras accepts both).
  std::vector<int64_t> integers(const std::string& key, size_t length, std::optional<std::vector<int64_t>> fallback = std::nullopt);
  /// A shape as Keras writes it: a list whose first entry may be null (the batch).
  std::vector<std::optional<int64_t>> shape(const std::string& key);

  /// Keys accepted only with the value that means "off" (null, false, or the given default):
  /// anything else is an option kerosene does not support.
  void require_default(const std::string& key, const json& default_value = nullptr);
  /// Keys kerosene ignores whatever their value (a name Keras generates, a seed whose draws are
  /// replaced by the saved weights).
  void ignore(std::initializer_list<const char*> keys);
  /// Throws ValueError naming every key not read, required or ignored.
  void finish() const;

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const;

 private:
  const json& config_;
  std::string where_;
  std::set<std::string> used_;
};

/// Keras' object envelope: {"module", "class_name", "config", "registered_name": null}.
ordered_json keras_envelope(const std::string& module, const std::string& class_name, ordered_json config);

/// Python's repr of a JSON value for messages: "relu", 3, [1, 2], null.
std::string describe(const json& value);

}  // namespace kerosene::saving
