// SHA-256 (FIPS 180-4), to check downloads against the hashes Keras publishes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kerosene::data {

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t size);
  /// The digest as 64 lowercase hex digits; the object is finished after this.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes so far
};

}  // namespace kerosene::data
