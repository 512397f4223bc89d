// TensorBoard event files without TensorFlow: TFRecord framing with masked CRC-32C, and the few
// protobuf fields of Event / Summary / Value / TensorProto a scalar needs, encoded by hand.
// Formats: ../shared/reference/keras-formats.md, section 4.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace kerosene::io {

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord framing uses it.
uint32_t crc32c(const void* data, size_t size);
/// TFRecord's masked form of a CRC: rotated right by 15 bits plus 0xA282EAD8.
uint32_t mask_crc(uint32_t crc);
inline uint32_t masked_crc32c(std::string_view bytes) { return mask_crc(crc32c(bytes.data(), bytes.size())); }

/// One TFRecord: uint64 LE length, masked CRC of those 8 bytes, the data, masked CRC of the data.
std::string frame_record(std::string_view data);

/// Serialized Event{wall_time, file_version: "brain.Event:2"}: the first record of every file.
std::string file_version_event(double wall_time);
/// Serialized Event{wall_time, step, summary{value{tag, tensor: rank-0 DT_FLOAT, metadata:
/// scalars plugin}}}: a scalar as tf.summary.scalar (and so Keras 3) writes it.
std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value);

/// Seconds since the Unix epoch, as TensorFlow stamps events.
double wall_time_now();

/// An event file in one run directory, named as TF2's summary writers name theirs:
/// events.out.tfevents.<10-digit seconds>.<hostname>.<pid>.<n>.v2. Records are appended to a
/// buffer and written whole at flush(); the file is only ever appended to, so a crash can at
/// worst leave a torn last record, which TensorBoard's readers skip, never damage earlier ones.
class EventFileWriter {
 public:
  /// Creates `directory` (and its parents). Throws IOError naming the directory or the file.
  explicit EventFileWriter(const std::string& directory);
  ~EventFileWriter();
  EventFileWriter(const EventFileWriter&) = delete;
  EventFileWriter& operator=(const EventFileWriter&) = delete;

  void add_scalar(std::string_view tag, float value, int64_t step);
  /// Writes the buffered records and flushes them to the OS. Throws IOError on a failed write.
  void flush();
  size_t pending_records() const { return pending_records_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::string pending_;
  size_t pending_records_ = 0;
};

}  // namespace kerosene::io
