// TFRecord framing, CRC-32C and the hand-written protobuf of TensorBoard scalar events.
#include "io/tensorboard_writer.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "kerosene/error.h"

namespace kerosene::io {
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

// Protobuf wire format: a key is (field number << 3) | wire type.
enum WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_key(std::string& out, int field, WireType type) { put_varint(out, (static_cast<uint64_t>(field) << 3) | type); }
template <typename T>
void put_little_endian(std::string& out, T v) {
  unsigned char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // x86-64 and aarch64 (little-endian) only, like the rest of kerosene
  out.append(reinterpret_cast<const char*>(bytes), sizeof(T));
}
void put_bytes(std::string& out, int field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}
// Proto3 leaves fields at their default out; Event.step 0 is thus omitted, as TF's writer does.
void put_event_header(std::string& out, double wall_time, int64_t step) {
  put_key(out, 1, kFixed64);
  put_little_endian(out, wall_time);
  if (step != 0) {
    put_key(out, 2, kVarint);
    put_varint(out, static_cast<uint64_t>(step));
  }
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  const auto* p = static_cast<const unsigned char*>(data);
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t mask_crc(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u; }

std::string frame_record(std::string_view data) {
  std::string header;
  put_little_endian(header, static_cast<uint64_t>(data.size()));
  std::string out = header;
  put_little_endian(out, masked_crc32c(header));
  out.append(data);
  put_little_endian(out, masked_crc32c(data));
  return out;
}

std::string file_version_event(double wall_time) {
  std::string event;
  put_event_header(event, wall_time, 0);
  put_bytes(event, 3, "brain.Event:2");
  return event;
}

std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value) {
  // TensorProto{dtype: DT_FLOAT, tensor_shape: {} (rank 0), tensor_content: 4 LE bytes}: what
  // TF's summary writer (Tensor::AsProtoTensorContent) stores for tf.summary.scalar.
  std::string tensor;
  put_key(tensor, 1, kVarint);
  put_varint(tensor, 1);  // DT_FLOAT
  put_bytes(tensor, 2, "");
  std::string content;
  put_little_endian(content, value);
  put_bytes(tensor, 4, content);
  // SummaryMetadata{plugin_data{plugin_name: "scalars"} (content: empty ScalarPluginData),
  // data_class: DATA_CLASS_SCALAR}: what marks the tensor as a scalar for TensorBoard.
  std::string plugin_data;
  put_bytes(plugin_data, 1, "scalars");
  std::string metadata;
  put_bytes(metadata, 1, plugin_data);
  put_key(metadata, 4, kVarint);
  put_varint(metadata, 1);
  // Value fields in field-number order (tag 1, tensor 8, metadata 9), as protobuf serializes.
  std::string summary_value;
  put_bytes(summary_value, 1, tag);
  put_bytes(summary_value, 8, tensor);
  put_bytes(summary_value, 9, metadata);
  std::string summary;
  put_bytes(summary, 1, summary_value);
  std::string event;
  put_event_header(event, wall_time, step);
  put_bytes(event, 5, summary);
  return event;
}

double wall_time_now() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

EventFileWriter::EventFileWriter(const std::string& directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec) throw IOError("TensorBoard: cannot create the log directory '" + directory + "': " + ec.message());
  // Two writers of one process in the same second get different names through the counter,
  // as TF2 adds its process-local uid after the pid.
  static std::atomic<int> counter{0};
  char host[256] = "localhost";
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "localhost");
  host[sizeof host - 1] = '\0';
  const double now = wall_time_now();
  char name[512];
  std::snprintf(name, sizeof name, "events.out.tfevents.%010lld.%s.%d.%d.v2", static_cast<long long>(now), host,
                static_cast<int>(getpid()), counter.fetch_add(1));
  path_ = (std::filesystem::path(directory) / name).string();
  file_ = std::fopen(path_.c_str(), "ab");
  if (file_ == nullptr) {
    throw IOError("TensorBoard: cannot open the event file '" + path_ + "' for writing: " + std::strerror(errno));
  }
  pending_ = frame_record(file_version_event(now));
  pending_records_ = 1;
  flush();
}

EventFileWriter::~EventFileWriter() {
  try {
    flush();
  } catch (const IOError&) {
    // A destructor cannot report; the failure was already reported by the flush that hit it.
  }
  if (file_ != nullptr) std::fclose(file_);
}

void EventFileWriter::add_scalar(std::string_view tag, float value, int64_t step) {
  pending_ += frame_record(scalar_event(wall_time_now(), step, tag, value));
  ++pending_records_;
}

void EventFileWriter::flush() {
  if (file_ == nullptr || pending_.empty()) return;
  const size_t written = std::fwrite(pending_.data(), 1, pending_.size(), file_);
  const bool ok = written == pending_.size() && std::fflush(file_) == 0;
  pending_.clear();
  pending_records_ = 0;
  if (!ok) {
    throw IOError("TensorBoard: writing the event file '" + path_ + "' failed: " + std::strerror(errno));
  }
}

}  // namespace kerosene::io
