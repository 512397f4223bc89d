// Every input of the fuzzers' seed corpora (tests/fuzz/corpus/<target>/), run through the same
// entry functions as the libFuzzer programs: each reader must accept the input or reject it with
// a kerosene::Error; files named ok_* must be accepted. Crashes and sanitizer reports fail too.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>
#include <typeinfo>
#include <vector>

#include "fuzz/fuzz_entries.h"

namespace kerosene::fuzz {

void PrintTo(const Target& target, std::ostream* out) { *out << target.name; }

namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzCorpusTest : public testing::TestWithParam<Target> {};

TEST_P(FuzzCorpusTest, EveryInputIsReadOrRejectedWithAKeroseneError) {
  const Target& target = GetParam();
  const fs::path dir = fs::path(KEROSENE_SOURCE_DIR) / "tests/fuzz/corpus" / target.name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir << " is missing (python3 tests/fuzz/make_corpus.py)";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << dir << " holds no seeds";
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    const std::vector<uint8_t> bytes = file_bytes(file);
    try {
      const bool accepted = target.run(bytes.data(), bytes.size());
      if (file.filename().string().starts_with("ok_")) {
        EXPECT_TRUE(accepted) << "the " << target.name << " reader rejected a valid file";
      }
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the " << target.name << " reader threw " << typeid(e).name()
                    << ", not a kerosene::Error: " << e.what();
    } catch (...) {
      ADD_FAILURE() << "the " << target.name << " reader threw something that is not an exception";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Readers, FuzzCorpusTest, testing::ValuesIn(targets().begin(), targets().end()),
                         [](const testing::TestParamInfo<Target>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kerosene::fuzz
