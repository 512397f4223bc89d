// `kerosene --version`: the version and what this build includes.
#pragma once

#include <string>

namespace kerosene::cli {

/// "kerosene 0.1.0" and one line each for the CUDA plugin, MPI and oneDNN.
std::string version_text();

}  // namespace kerosene::cli
