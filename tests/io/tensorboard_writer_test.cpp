// TensorBoard event files: CRC-32C and the masked CRC against the reference's vectors
// (keras-formats.md 4.2, 4.4), TFRecord framing byte for byte, one scalar Event decoded field by
// field by the test-side reader (event_file_reader.h), and the file a writer leaves.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "io/event_file_reader.h"
#include "io/tensorboard_writer.h"
#include "kerosene/error.h"

namespace kerosene {
namespace {

namespace fs = std::filesystem;

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out.push_back(static_cast<char>(v));
  return out;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("kerosene_tb_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TEST(Crc32cTest, ReferenceVectors) {
  EXPECT_EQ(io::crc32c("123456789", 9), 0xE3069283u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(io::crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  EXPECT_EQ(io::crc32c("", 0), 0u);
  EXPECT_EQ(io::masked_crc32c(std::string("\x1a\x11" "CRC test, one two")), 0x5794D08Au);
  // The test-side bitwise CRC agrees, so the reader's checks below are independent evidence.
  EXPECT_EQ(test::bitwise_crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(test::bitwise_masked(std::string("\x1a\x11" "CRC test, one two")), 0x5794D08Au);
}

TEST(TensorBoardRecordTest, FileVersionRecordMatchesReference) {
  const std::string expected =
      bytes({0x18, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0x7f, 0x4b, 0x22, 0x09, 0, 0, 0, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x1a, 0x0d}) +
      "brain.Event:2" + bytes({0xec, 0xed, 0x8f, 0x9d});
  EXPECT_EQ(io::frame_record(io::file_version_event(1700000000.0)), expected);
}

TEST(TensorBoardRecordTest, FramingMatchesReferenceForAnyData) {
  // The reference's TF1-style scalar Event (simple_value): only the framing is ours here.
  const std::string data = bytes({0x09, 0, 0, 0x60, 0x40, 0xfc, 0x54, 0xd9, 0x41, 0x10, 0x03, 0x2a, 0x13, 0x0a, 0x11,
                                  0x0a, 0x0a}) +
                           "epoch_loss" + bytes({0x15, 0, 0, 0, 0x3f});
  ASSERT_EQ(data.size(), 32u);
  const std::string expected = bytes({0x20, 0, 0, 0, 0, 0, 0, 0, 0x29, 0xed, 0xa9, 0x50}) + data +
                               bytes({0xed, 0xbc, 0x18, 0x49});
  EXPECT_EQ(io::frame_record(data), expected);
  const auto decoded = test::decode_event(data);
  EXPECT_EQ(decoded.tag, "epoch_loss");
  EXPECT_EQ(decoded.value, 0.5f);
}

TEST(TensorBoardRecordTest, ScalarEventDecodesFieldByField) {
  const std::string event = io::scalar_event(1700000001.5, 3, "epoch_loss", 0.5f);
  const auto fields = test::decode_message(event);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].number, 1);  // wall_time, fixed64 double
  EXPECT_EQ(fields[0].wire, 1);
  EXPECT_EQ(fields[1].number, 2);  // step, varint
  EXPECT_EQ(fields[1].wire, 0);
  EXPECT_EQ(fields[1].integer, 3u);
  EXPECT_EQ(fields[2].number, 5);  // summary
  EXPECT_EQ(fields[2].wire, 2);
  const auto decoded = test::decode_event(event);
  EXPECT_EQ(decoded.wall_time, 1700000001.5);
  EXPECT_EQ(decoded.step, 3);
  EXPECT_EQ(decoded.tag, "epoch_loss");
  EXPECT_EQ(decoded.value, 0.5f);
  EXPECT_EQ(decoded.plugin_name, "scalars");
  EXPECT_EQ(decoded.data_class, 1);  // DATA_CLASS_SCALAR
  // The Value in full: tag, tensor{DT_FLOAT, shape {}, tensor_content}, metadata, in field order.
  const auto summary = test::decode_message(fields[2].bytes);
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].bytes, bytes({0x0a, 0x0a}) + "epoch_loss" +
                                  bytes({0x42, 0x0a, 0x08, 0x01, 0x12, 0x00, 0x22, 0x04, 0, 0, 0, 0x3f}) +
                                  bytes({0x4a, 0x0d, 0x0a, 0x09, 0x0a, 0x07}) + "scalars" + bytes({0x20, 0x01}));
}

TEST(TensorBoardRecordTest, StepZeroIsLeftOutAsProto3DoesAndLargeStepsAreVarints) {
  EXPECT_EQ(test::decode_message(io::scalar_event(1.0, 0, "t", 1.0f)).size(), 2u);
  EXPECT_EQ(test::decode_event(io::scalar_event(1.0, 300000, "t", 1.0f)).step, 300000);
}

TEST(EventFileWriterTest, WritesNamedFileWithVersionFirstAndAppendsOnFlush) {
  const fs::path dir = fresh_dir("writer") / "nested" / "train";
  std::string path;
  {
    io::EventFileWriter writer(dir.string());
    path = writer.path();
    EXPECT_EQ(fs::path(path).parent_path(), dir);
    EXPECT_TRUE(std::regex_match(fs::path(path).filename().string(),
                                 std::regex(R"(events\.out\.tfevents\.\d{10}\..+\.\d+\.\d+\.v2)")))
        << path;
    // The version record is on disk at once: TensorBoard can pick up the run before epoch 1.
    EXPECT_EQ(test::read_event_file(path).size(), 1u);
    writer.add_scalar("epoch_loss", 0.25f, 0);
    writer.add_scalar("epoch_loss", 0.125f, 1);
    EXPECT_EQ(test::read_event_file(path).size(), 1u);  // buffered until flush
    writer.flush();
    EXPECT_EQ(test::read_event_file(path).size(), 3u);
  }
  const auto events = test::read_event_file(path);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].file_version, "brain.Event:2");
  EXPECT_GT(events[0].wall_time, 1.7e9);
  EXPECT_EQ(events[1].tag, "epoch_loss");
  EXPECT_EQ(events[1].step, 0);
  EXPECT_EQ(events[1].value, 0.25f);
  EXPECT_EQ(events[2].step, 1);
  EXPECT_EQ(events[2].value, 0.125f);
  fs::remove_all(dir.parent_path().parent_path());
}

TEST(EventFileWriterTest, TwoWritersInOneSecondGetTwoFiles) {
  const fs::path dir = fresh_dir("two");
  io::EventFileWriter a(dir.string()), b(dir.string());
  EXPECT_NE(a.path(), b.path());
  fs::remove_all(dir);
}

TEST(EventFileWriterTest, UncreatableDirectoryIsAnErrorNamingIt) {
  const fs::path dir = fresh_dir("blocked");
  fs::create_directories(dir);
  std::ofstream(dir / "file") << "a file where a directory should go";
  const std::string wanted = (dir / "file" / "train").string();
  try {
    io::EventFileWriter writer(wanted);
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("'" + wanted + "'"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kerosene
