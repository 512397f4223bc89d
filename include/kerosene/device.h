// Device: a value naming one device, parsed the way TensorFlow users write them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kerosene {

enum class DeviceType : uint8_t { CPU, GPU };

std::string_view device_type_name(DeviceType type);  // "CPU", "GPU"

class Device {
 public:
  /// /CPU:0.
  Device() = default;
  Device(DeviceType type, int index) : type_(type), index_(index) {}

  /// Parses "/CPU:0", "CPU:0", "cpu:0", "/GPU:1", "/device:GPU:1", "GPU" (index 0) and the
  /// full form "/job:worker/replica:0/task:1/device:GPU:0".
  /// Throws ValueError naming the accepted forms if `spec` is none of them.
  static Device parse(std::string_view spec);

  DeviceType type() const { return type_; }
  int index() const { return index_; }
  /// Task index from a full name (0 when not given): the worker in multi-worker training.
  int task() const { return task_; }
  bool is_cpu() const { return type_ == DeviceType::CPU; }
  bool is_gpu() const { return type_ == DeviceType::GPU; }

  /// "/CPU:0": the short form users write.
  std::string to_string() const;
  /// "/job:localhost/replica:0/task:0/device:CPU:0": the form placement logs print.
  std::string full_name() const;

  friend bool operator==(const Device& a, const Device& b) {
    return a.type_ == b.type_ && a.index_ == b.index_ && a.task_ == b.task_;
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }

 private:
  DeviceType type_ = DeviceType::CPU;
  int index_ = 0;
  int task_ = 0;
  std::string job_ = "localhost";
  int replica_ = 0;
};

}  // namespace kerosene
