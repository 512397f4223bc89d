// DeviceScope: `with tf.device('/CPU:1'):` as an RAII object. Per thread; scopes nest.
#pragma once

#include <string_view>

#include "kerosene/device.h"

namespace kerosene {

class DeviceScope {
 public:
  /// Throws ValueError for a malformed name and DeviceError for a device that does not exist.
  explicit DeviceScope(std::string_view device);
  explicit DeviceScope(const Device& device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

  /// The device new tensors and models go to on this thread: the innermost scope, else /CPU:0.
  static Device current();

 private:
  Device previous_;
  bool had_previous_;
};

}  // namespace kerosene
