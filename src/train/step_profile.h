// KEROSENE_PROFILE: where a fit's training steps spend their time, layer by layer.
//
// Set KEROSENE_PROFILE=1 and every fit prints, when it ends, each layer's forward and backward
// milliseconds per step, the loss's and the optimizer's, to stderr; KEROSENE_PROFILE=FILE.json
// writes the same as JSON (what bench/ reads). The device is synchronized around every part,
// so on a GPU the figures are the kernels' own time and the step runs slower than unprofiled.
// Training under a strategy (its replicas are models of their own) is not profiled.
#pragma once

#include <string>

#include "train/model_state.h"

namespace kerosene::train {

/// Turns profiling on for this fit when KEROSENE_PROFILE asks (clearing earlier sums).
void begin_step_profile(ModelState& state);
/// Reports the fit's profile as KEROSENE_PROFILE asks; nothing when it is off.
void end_step_profile(ModelState& state);
/// The report as a table (one line per layer; the tests read it).
std::string format_step_profile(const ModelState& state);

}  // namespace kerosene::train
