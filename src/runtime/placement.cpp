#include "runtime/placement.h"

#include <cstdio>
#include <mutex>

namespace kerosene::runtime {

std::atomic<bool> g_log_device_placement{false};
std::atomic<bool> g_soft_device_placement{false};

namespace {
// One line at a time: worker threads of several devices log concurrently.
void write_line(const std::string& line) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fputs(line.c_str(), stderr);
  std::fputc('\n', stderr);
}
}  // namespace

std::string full_device_name(const Device& device) {
  return "/job:localhost/replica:0/task:0/device:" + std::string(device_type_name(device.type())) + ":" +
         std::to_string(device.index());
}

void log_op_placement(const char* op, const Device& device) {
  write_line(std::string("Executing op ") + op + " in device " + full_device_name(device));
}

void log_copy(const Shape& shape, const std::string& dtype, size_t bytes, const Device& from, const Device& to) {
  write_line("Copying tensor of shape " + shape.to_string() + " (" + dtype + ", " + std::to_string(bytes) +
             " bytes) from " + full_device_name(from) + " to " + full_device_name(to));
}

void warn(const std::string& message) { write_line("kerosene: warning: " + message); }

}  // namespace kerosene::runtime
