// Small text helpers the doctor's messages share.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace kerosene::doctor {

std::string join(const std::vector<std::string>& parts, const std::string& separator);
/// "1 GPU", "4 GPUs".
std::string count_text(size_t gpus);
/// Bytes for a reader: "80.0 GiB", "512 MiB", "0 B".
std::string bytes_text(size_t bytes);

}  // namespace kerosene::doctor
