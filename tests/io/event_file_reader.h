// A test-side reader of TensorBoard event files, written independently of src/io's writer
// (its own CRC loop, bitwise rather than table-driven, and its own protobuf decoding), so that
// the tests check the writer's bytes against the format rather than against itself.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kerosene::test {

inline uint32_t bitwise_crc32c(std::string_view bytes) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
  }
  return ~crc;
}
inline uint32_t bitwise_masked(std::string_view bytes) {
  const uint32_t c = bitwise_crc32c(bytes);
  return ((c >> 15) | (c << 17)) + 0xA282EAD8u;
}

/// One protobuf field: number, wire type, and its varint / fixed value or bytes.
struct PbField {
  int number = 0;
  int wire = 0;
  uint64_t integer = 0;  // varint, fixed64 or fixed32 bits
  std::string bytes;     // length-delimited
};

/// All fields of one message, in file order. Fails the test on malformed input.
inline std::vector<PbField> decode_message(std::string_view m) {
  std::vector<PbField> fields;
  size_t i = 0;
  auto varint = [&](uint64_t& out) {
    out = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (i >= m.size()) return false;
      const auto b = static_cast<unsigned char>(m[i++]);
      out |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return true;
    }
    return false;
  };
  while (i < m.size()) {
    uint64_t key = 0;
    if (!varint(key)) {
      ADD_FAILURE() << "truncated key at byte " << i;
      return fields;
    }
    PbField f;
    f.number = static_cast<int>(key >> 3);
    f.wire = static_cast<int>(key & 7);
    bool ok = true;
    if (f.wire == 0) {
      ok = varint(f.integer);
    } else if (f.wire == 1 || f.wire == 5) {
      const size_t n = f.wire == 1 ? 8 : 4;
      ok = i + n <= m.size();
      if (ok) std::memcpy(&f.integer, m.data() + i, n);  // little-endian host
      i += n;
    } else if (f.wire == 2) {
      uint64_t n = 0;
      ok = varint(n) && i + n <= m.size();
      if (ok) f.bytes = std::string(m.substr(i, n));
      i += n;
    } else {
      ok = false;
    }
    if (!ok) {
      ADD_FAILURE() << "malformed field " << f.number << " (wire type " << f.wire << ")";
      return fields;
    }
    fields.push_back(std::move(f));
  }
  return fields;
}

inline const PbField* field(const std::vector<PbField>& fields, int number) {
  for (const auto& f : fields) {
    if (f.number == number) return &f;
  }
  return nullptr;
}

/// An Event as TensorBoard sees it: file_version, or one scalar value.
struct DecodedEvent {
  double wall_time = 0;
  int64_t step = 0;
  std::string file_version;
  std::string tag;
  std::optional<float> value;  // from a rank-0 DT_FLOAT tensor's content or a simple_value
  std::string plugin_name;
  int64_t data_class = 0;
};

inline DecodedEvent decode_event(std::string_view data) {
  DecodedEvent e;
  const auto event = decode_message(data);
  if (const auto* f = field(event, 1)) std::memcpy(&e.wall_time, &f->integer, 8);
  if (const auto* f = field(event, 2)) e.step = static_cast<int64_t>(f->integer);
  if (const auto* f = field(event, 3)) e.file_version = f->bytes;
  const auto* summary = field(event, 5);
  if (summary == nullptr) return e;
  const auto values = decode_message(summary->bytes);
  EXPECT_EQ(values.size(), 1u) << "one Value per Event";
  const auto* value_field = field(values, 1);
  if (value_field == nullptr) return e;
  const auto value = decode_message(value_field->bytes);
  if (const auto* f = field(value, 1)) e.tag = f->bytes;
  if (const auto* f = field(value, 2)) {
    float v;
    std::memcpy(&v, &f->integer, 4);
    e.value = v;
  }
  if (const auto* f = field(value, 8)) {
    const auto tensor = decode_message(f->bytes);
    const auto* dtype = field(tensor, 1);
    const auto* shape = field(tensor, 2);
    const auto* content = field(tensor, 4);
    EXPECT_TRUE(dtype != nullptr && dtype->integer == 1) << "DT_FLOAT";
    EXPECT_TRUE(shape != nullptr && shape->bytes.empty()) << "rank-0 shape";
    if (content != nullptr && content->bytes.size() == 4) {
      float v;
      std::memcpy(&v, content->bytes.data(), 4);
      e.value = v;
    }
  }
  if (const auto* f = field(value, 9)) {
    const auto metadata = decode_message(f->bytes);
    if (const auto* d = field(metadata, 4)) e.data_class = static_cast<int64_t>(d->integer);
    if (const auto* p = field(metadata, 1)) {
      const auto plugin = decode_message(p->bytes);
      if (const auto* n = field(plugin, 1)) e.plugin_name = n->bytes;
      EXPECT_EQ(field(plugin, 2), nullptr) << "empty ScalarPluginData content is left out";
    }
  }
  return e;
}

/// Every record of a file, each CRC checked (failing the test on a bad one).
inline std::vector<DecodedEvent> read_event_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "cannot open " << path;
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<DecodedEvent> events;
  size_t i = 0;
  while (i < bytes.size()) {
    if (i + 12 > bytes.size()) {
      ADD_FAILURE() << path << ": truncated record header at byte " << i;
      break;
    }
    uint64_t length;
    uint32_t length_crc, data_crc;
    std::memcpy(&length, bytes.data() + i, 8);
    std::memcpy(&length_crc, bytes.data() + i + 8, 4);
    EXPECT_EQ(length_crc, bitwise_masked(std::string_view(bytes).substr(i, 8))) << path << " at byte " << i;
    if (i + 12 + length + 4 > bytes.size()) {
      ADD_FAILURE() << path << ": truncated record at byte " << i;
      break;
    }
    const std::string_view data = std::string_view(bytes).substr(i + 12, length);
    std::memcpy(&data_crc, bytes.data() + i + 12 + length, 4);
    EXPECT_EQ(data_crc, bitwise_masked(data)) << path << " at byte " << i;
    events.push_back(decode_event(data));
    i += 12 + length + 4;
  }
  return events;
}

/// The single file of a run directory (fails the test unless there is exactly one).
inline std::string only_event_file(const std::filesystem::path& run) {
  std::vector<std::string> files;
  if (std::filesystem::is_directory(run)) {
    for (const auto& entry : std::filesystem::directory_iterator(run)) files.push_back(entry.path().string());
  }
  EXPECT_EQ(files.size(), 1u) << "event files in " << run;
  return files.empty() ? std::string() : files.front();
}

}  // namespace kerosene::test
