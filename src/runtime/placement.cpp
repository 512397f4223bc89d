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

void log_op_placement(const char* op, const Device& device) {
  write_line(std::string("Executing op ") + op + " in device " + device.full_name());
}

void log_copy(const Tensor& from, const Device& to) {
  log_copy(from.shape(), from.dtype(), from.nbytes(), from.device(), to);
}

void log_copy(const Shape& shape, DType dtype, size_t bytes, const Device& from, const Device& to) {
  write_line("Copying tensor of shape " + shape.to_string() + " (" + std::string(dtype_name(dtype)) + ", " +
             std::to_string(bytes) + " bytes) from " + from.full_name() + " to " + to.full_name());
}

void warn(const std::string& message) { write_line("kerosene: warning: " + message); }

}  // namespace kerosene::runtime
