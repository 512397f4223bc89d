// DeviceScope: `with tf.device('/CPU:1'):` as an RAII object. Per thread; scopes nest.
#pragma once

#include <string_view>

#include "kerosene/device.h"

namespace kerosene {

class DeviceScope {
 public:
  /// Throws ValueError for a malformed name and DeviceError for a device that does not exist
  /// (its message says why, e.g. the doctor's verdict for a missing GPU), unless soft placement
  /// is on (config::set_soft_device_placement): then the scope selects /CPU:0 and a warning on
  /// stderr says what was requested and why it is not there.
  explicit DeviceScope(std::string_view device);
  explicit DeviceScope(const Device& device);
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

  /// The device new tensors go to on this thread: the innermost scope, else /CPU:0 (data stays
  /// on the host unless placed). Models without a scope go to /GPU:0 when there is one.
  static Device current();
  /// Whether a scope is active on this thread.
  static bool active();

 private:
  Device previous_;
  bool had_previous_;
};

}  // namespace kerosene
