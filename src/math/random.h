// Counter-based random numbers (Philox-4x32-10): the value at (seed, counter) is the same on
// every backend and thread, so dropout masks and shuffles do not depend on the device.
#pragma once

#include <cstdint>

#include "math/host_device.h"

namespace kerosene::math {

struct Philox4 {
  uint32_t v[4];
};

KEROSENE_HD uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t& hi) {
  uint64_t product = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

/// Four 32-bit random words for (seed, counter).
KEROSENE_HD Philox4 philox(uint64_t seed, uint64_t counter) {
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c0, hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

/// Uniform float in [0, 1) from 24 random bits.
KEROSENE_HD float uniform_from_bits(uint32_t bits) { return (bits >> 8) * (1.0f / 16777216.0f); }

}  // namespace kerosene::math
