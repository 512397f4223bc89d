// libFuzzer target: TarReader over the input as a file, every member read.
// Build and run: bash scripts/sanitize.sh fuzz (seeds: tests/fuzz/corpus/, see fuzz_entries.h).
#include "fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kerosene::fuzz::tar(data, size);
  return 0;
}
