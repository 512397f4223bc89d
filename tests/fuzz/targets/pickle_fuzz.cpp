// libFuzzer target: read_cifar_pickle on the input.
// Build and run: bash scripts/sanitize.sh fuzz (seeds: tests/fuzz/corpus/, see fuzz_entries.h).
#include "fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kerosene::fuzz::pickle(data, size);
  return 0;
}
