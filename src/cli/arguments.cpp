#include "cli/arguments.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <optional>
#include <sstream>

namespace kerosene::cli {
namespace {

// The number `text` holds, or nothing when it is not a whole, finite number.
std::optional<double> number(const std::string& text) {
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size() && std::isfinite(value)) return value;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string shortest(double value) {
  std::ostringstream s;
  s << value;
  return s.str();
}

}  // namespace

const CLI::Validator& positive() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        const auto value = number(text);
        return value && *value > 0 ? "" : "expected a number greater than 0, got " + text;
      },
      "POSITIVE");
  return validator;
}

const CLI::Validator& non_negative_integer() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        const auto value = number(text);
        const bool whole = value && *value >= 0 && std::floor(*value) == *value &&
                           text.find_first_not_of("0123456789") == std::string::npos;
        return whole ? "" : "expected a whole number of 0 or more, got " + text;
      },
      "INTEGER >= 0");
  return validator;
}

CLI::Validator number_between(double low, double high) {
  const std::string range = shortest(low) + " to " + shortest(high);
  return CLI::Validator(
      [low, high, range](std::string& text) -> std::string {
        const auto value = number(text);
        return value && *value >= low && *value <= high ? ""
                                                        : "expected a number from " + range + ", got " + text;
      },
      "NUMBER in " + range);
}

CLI::Validator one_of(const std::vector<std::string>& values) {
  std::string list;
  for (const std::string& v : values) list += (list.empty() ? "" : ", ") + v;
  return CLI::Validator(
      [values, list](std::string& text) -> std::string {
        return std::find(values.begin(), values.end(), text) != values.end() ? ""
                                                                             : "expected one of " + list + ", got " + text;
      },
      "one of " + list);
}

std::string parse_class_weight(const std::string& text, std::map<int, float>& out) {
  const std::string usage = "expected CLASS:WEIGHT pairs such as 0:1.0,1:2.5";
  out.clear();
  if (text.empty()) return usage + ", got nothing";
  size_t at = 0;
  while (at <= text.size()) {
    const size_t comma = std::min(text.find(',', at), text.size());
    const std::string pair = text.substr(at, comma - at);
    const size_t colon = pair.find(':');
    if (pair.empty()) return usage + "; \"" + text + "\" has an empty pair";
    if (colon == std::string::npos) return usage + "; \"" + pair + "\" has no ':'";
    const std::string index = pair.substr(0, colon), weight = pair.substr(colon + 1);
    const auto value = number(index);
    if (!index.empty() && index[0] == '-' && value) {
      return "class index " + index + " in \"" + pair + "\" is negative: classes are the labels 0, 1, 2, ...";
    }
    if (!value || index.find_first_not_of("0123456789") != std::string::npos || *value > 2147483647.0) {
      return usage + "; the class in \"" + pair + "\" is not a whole number 0 or more";
    }
    const auto w = number(weight);
    if (!w || *w < 0) return usage + "; the weight in \"" + pair + "\" is not a number 0 or more";
    if (!out.emplace(static_cast<int>(*value), static_cast<float>(*w)).second) {
      return "class " + index + " is given twice in \"" + text + "\"";
    }
    at = comma + 1;
  }
  return "";
}

const CLI::Validator& class_weight_list() {
  static const CLI::Validator validator(
      [](std::string& text) -> std::string {
        std::map<int, float> unused;
        return parse_class_weight(text, unused);
      },
      "CLASS:WEIGHT,...");
  return validator;
}

int parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return -1;
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string hint = "kerosene --help";
    for (const CLI::App* sub : app.get_subcommands()) hint = "kerosene " + sub->get_name() + " --help";
    std::cerr << "kerosene: error: " << e.what() << "\n(see " << hint << ")" << std::endl;
    return 2;
  }
}

}  // namespace kerosene::cli
