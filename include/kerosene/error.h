// Errors raised by kerosene. Every message is written for the user: what happened,
// the values involved (expected against found), and what to do about it.
#pragma once

#include <stdexcept>
#include <string>

namespace kerosene {

/// Base of every exception kerosene throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// An argument has the wrong value, shape or type (Python's ValueError).
class ValueError : public Error {
  using Error::Error;
};

/// A file is missing, unreadable, truncated or corrupt. The message names the file.
class IOError : public Error {
  using Error::Error;
};

/// A device was named that does not exist, or a device operation failed.
class DeviceError : public Error {
  using Error::Error;
};

/// A device ran out of memory (TensorFlow's ResourceExhaustedError).
class ResourceExhaustedError : public Error {
  using Error::Error;
};

/// Configuration changed after the runtime was initialized, or an API was misused.
class RuntimeError : public Error {
  using Error::Error;
};

/// A NaN or infinity appeared in the data, the loss or the weights.
class NumericError : public Error {
  using Error::Error;
};

}  // namespace kerosene
