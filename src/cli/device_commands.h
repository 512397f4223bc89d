// `kerosene devices` and `kerosene doctor`: what devices there are, and why a GPU is or is not
// used. main.cpp registers the subcommands; these run them and return the exit status.
#pragma once

namespace kerosene::cli {

/// Physical devices (name, compute capability, total memory) and logical devices (memory in
/// use, peak, reserved, limit); as one JSON object when `json`. Returns 0.
int run_devices(bool json);

/// Every doctor check and the verdict (kerosene::doctor::Report::to_text, or to_json when
/// `json`). Returns 0 when a GPU is usable, 1 when not.
int run_doctor(bool json);

}  // namespace kerosene::cli
