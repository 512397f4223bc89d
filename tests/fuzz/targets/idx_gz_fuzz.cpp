// libFuzzer target: read_idx on the input gzipped first (the IDX parser behind valid gzip).
// Build and run: bash scripts/sanitize.sh fuzz (seeds: tests/fuzz/corpus/, see fuzz_entries.h).
#include "fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kerosene::fuzz::idx_gz(data, size);
  return 0;
}
