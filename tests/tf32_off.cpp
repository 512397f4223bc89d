// TF32 off for every test of this binary and every program it runs (the CLI, a fresh copy of
// itself for run_in_fresh_process): on a GPU the tests compare float32 results with the CPU's
// and with Keras' reference values at float32 tolerances, which TF32 (on by default, as in
// TensorFlow) would exceed. NVIDIA_TF32_OVERRIDE=0 is NVIDIA's switch, which kerosene honours
// (kerosene/config.h) and cuBLAS and cuDNN read themselves. Set before main(), so before any op
// runs; a value already in the environment is kept (setenv's 0), so a run can ask for TF32.
#include <cstdlib>

namespace {
[[maybe_unused]] const bool tf32_off = [] { return setenv("NVIDIA_TF32_OVERRIDE", "0", 0) == 0; }();
}  // namespace
