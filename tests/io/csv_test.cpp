// kerosene::io::load_csv: numbers by column name or index, and errors that name the line and
// the column.
#include <gtest/gtest.h>

#include "cli_util.h"
#include "kerosene/io.h"

namespace kerosene {
namespace {

using test_util::ScratchDir;

std::string write_csv(const ScratchDir& dir, const std::string& text) {
  test_util::write_bytes(dir.path() / "data.csv", std::vector<uint8_t>(text.begin(), text.end()));
  return dir / "data.csv";
}

std::string csv_error(const std::string& path, const io::CsvOptions& options = {}) {
  try {
    io::load_csv(path, options);
  } catch (const IOError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no IOError";
  return "";
}

TEST(IoCsv, ReadsEveryColumnWithAHeader) {
  ScratchDir dir;
  const Tensor t = io::load_csv(write_csv(dir, "a,b,label\r\n1.5,-2,0\r\n\r\n3,4e-1,\"1\"\r\n"));
  EXPECT_EQ(t.shape(), Shape({2, 3}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.5f, -2, 0, 3, 0.4f, 1}));
}

TEST(IoCsv, ChoosesColumnsByNameOrIndexWithoutHeader) {
  ScratchDir dir;
  const std::string path = write_csv(dir, "x;y;z\n1;2;3\n4;5;6\n");
  io::CsvOptions by_name{.delimiter = ';', .columns = {"z", "x"}};
  EXPECT_EQ(io::load_csv(path, by_name).to_vector<float>(), (std::vector<float>{3, 1, 6, 4}));
  const std::string plain = write_csv(dir, "1,2\n3,4\n");
  io::CsvOptions by_index{.header = false, .column_indices = {1}};
  const Tensor t = io::load_csv(plain, by_index);
  EXPECT_EQ(t.shape(), Shape({2, 1}));
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{2, 4}));
}

TEST(IoCsv, ErrorsNameTheLineAndColumn) {
  ScratchDir dir;
  const std::string path = write_csv(dir, "age,income\n31,1000\n42,n/a\n");
  const std::string message = csv_error(path);
  KEROSENE_EXPECT_CONTAINS(message, "data.csv', line 3: column 'income' (index 1): expected a number, found 'n/a'");
  KEROSENE_EXPECT_CONTAINS(csv_error(write_csv(dir, "a,b\n1,\n")), "line 2: column 'b' (index 1): expected a number, found an empty field");
  KEROSENE_EXPECT_CONTAINS(csv_error(write_csv(dir, "a,b\n1,2\n3\n")), "line 3: expected 2 fields, as on the first line, found 1");
  KEROSENE_EXPECT_CONTAINS(csv_error(write_csv(dir, "a,b\n1,2\n"), {.columns = {"c"}}), "no column named 'c': the header has 'a', 'b'");
  KEROSENE_EXPECT_CONTAINS(csv_error(write_csv(dir, "a,b\n1,2\n"), {.column_indices = {2}}), "column index 2 is out of range");
  KEROSENE_EXPECT_CONTAINS(csv_error(write_csv(dir, "")), "holds no lines");
  EXPECT_THROW(io::load_csv(dir / "missing.csv"), IOError);
}

}  // namespace
}  // namespace kerosene
