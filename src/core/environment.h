// Environment variables as strings: unset and empty read the same, which is what every
// kerosene setting wants ("KEROSENE_X=" turns a setting off like not setting it).
#pragma once

#include <cstdlib>
#include <string>

namespace kerosene {

/// The value of the environment variable `name`, or "" when it is not set.
inline std::string env_string(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

}  // namespace kerosene
