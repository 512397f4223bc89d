// write_zip/ZipReader: round trips (members STORED, in order) and hostile archives, each an
// IOError naming the archive; nothing that is not a regular file is waited on.
#include "io/zip_archive.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "kerosene/error.h"

namespace kerosene::io {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir() {
  fs::path dir = fs::temp_directory_path() / ("kerosene_zip_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return dir;
}

std::vector<uint8_t> bytes_of(const std::string& text) { return {text.begin(), text.end()}; }

std::vector<uint8_t> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

uint32_t u32(const std::vector<uint8_t>& b, size_t at) {
  return b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (uint32_t{b[at + 3]} << 24);
}
void put_u32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// This process's address space now, in bytes (VmSize in /proc/self/status).
uint64_t address_space_in_use() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

// Runs `f` in a child killed after 10 s, whose address space may grow by 1 GiB (not under
// sanitizers, which reserve terabytes up front): returns the IOError's message, "ok",
// "timeout" or what else happened.
std::string run_with_alarm(const std::function<void()>& f) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe failed";
  const uint64_t limit = address_space_in_use() + (uint64_t{1} << 30);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    const rlimit cap{limit, limit};
    setrlimit(RLIMIT_AS, &cap);
#endif
    (void)limit;
    alarm(10);
    std::string report = "ok";
    try {
      f();
    } catch (const IOError& e) {
      report = e.what();
    } catch (const std::bad_alloc&) {
      report = "other exception: std::bad_alloc";
    } catch (const std::exception& e) {
      report = std::string("other exception: ") + e.what();
    }
    const ssize_t n = write(fds[1], report.data(), report.size());
    _exit(n == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string report;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) report.append(buffer, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) return WTERMSIG(status) == SIGALRM ? "timeout" : "signal " + std::to_string(WTERMSIG(status));
  return report;
}

class ZipArchive : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = temp_dir(); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(ZipArchive, RoundTripStoredInOrder) {
  const fs::path path = dir_ / "model.keras";
  std::vector<uint8_t> big(100000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  write_zip(path.string(), {{"metadata.json", bytes_of("{\"keras_version\": \"3\"}")},
                            {"config.json", bytes_of("{}")},
                            {"model.weights.h5", big},
                            {"empty", {}}});
  const std::vector<uint8_t> raw = read_file(path);
  ASSERT_GT(raw.size(), 30u);
  EXPECT_EQ(u32(raw, 0), 0x04034b50u);  // a local file header first
  EXPECT_EQ(raw[8] | (raw[9] << 8), 0);  // compression method: STORED
  ZipReader reader(path.string());
  EXPECT_EQ(reader.path(), path.string());
  EXPECT_EQ(reader.names(), (std::vector<std::string>{"metadata.json", "config.json", "model.weights.h5", "empty"}));
  EXPECT_TRUE(reader.has("config.json"));
  EXPECT_FALSE(reader.has("nothing"));
  EXPECT_EQ(reader.read("metadata.json"), bytes_of("{\"keras_version\": \"3\"}"));
  EXPECT_EQ(reader.read("model.weights.h5"), big);
  EXPECT_TRUE(reader.read("empty").empty());
  // STORED all through: the archive is its members plus headers.
  EXPECT_LT(raw.size(), big.size() + 1000);
  EXPECT_FALSE(fs::exists(path.string() + ".tmp"));
}

TEST_F(ZipArchive, EmptyArchive) {
  const fs::path path = dir_ / "empty.zip";
  write_zip(path.string(), {});
  ZipReader reader(path.string());
  EXPECT_TRUE(reader.names().empty());
}

TEST_F(ZipArchive, MissingMemberListsWhatTheArchiveHas) {
  const fs::path path = dir_ / "a.keras";
  write_zip(path.string(), {{"a", bytes_of("1")}, {"b", bytes_of("2")}});
  ZipReader reader(path.string());
  try {
    reader.read("config.json");
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("expected a member config.json, the archive has: a, b"), std::string::npos)
        << e.what();
  }
}

TEST_F(ZipArchive, MemberOverTheLimitIsRefused) {
  const fs::path path = dir_ / "a.keras";
  write_zip(path.string(), {{"a", std::vector<uint8_t>(100, 1)}});
  ZipReader reader(path.string());
  try {
    reader.read("a", 10);
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("a: expected a member of at most 10 bytes, found 100"), std::string::npos)
        << e.what();
  }
}

TEST_F(ZipArchive, BadArchivesAreIOErrorsNamingThem) {
  const std::string missing = (dir_ / "missing.keras").string();
  EXPECT_THROW(ZipReader{missing}, IOError);
  const fs::path text = dir_ / "text.keras";
  write_file(text, bytes_of("not a zip at all, just some text\n"));
  EXPECT_NE(run_with_alarm([&] { ZipReader reader(text.string()); }).find(text.string()), std::string::npos);

  const fs::path good = dir_ / "good.keras";
  write_zip(good.string(), {{"a", std::vector<uint8_t>(1000, 3)}, {"b", bytes_of("bbb")}});
  const std::vector<uint8_t> raw = read_file(good);
  const fs::path truncated = dir_ / "truncated.keras";
  write_file(truncated, std::vector<uint8_t>(raw.begin(), raw.begin() + raw.size() / 2));
  EXPECT_NE(run_with_alarm([&] { ZipReader reader(truncated.string()); }).find(truncated.string()), std::string::npos);

  // A flipped data byte: the CRC check catches it.
  std::vector<uint8_t> flipped = raw;
  flipped[30 + 1 + 500] ^= 0xff;  // inside member "a" (30-byte header, 1-byte name)
  const fs::path corrupt = dir_ / "crc.keras";
  write_file(corrupt, flipped);
  const std::string report = run_with_alarm([&] { ZipReader(corrupt.string()).read("a"); });
  EXPECT_NE(report.find(corrupt.string()), std::string::npos) << report;
  EXPECT_NE(report.find("a: "), std::string::npos) << report;
}

TEST_F(ZipArchive, FifoAndDevZeroAreRefusedWithoutWaiting) {
  const fs::path fifo = dir_ / "fifo.keras";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  std::string report = run_with_alarm([&] { ZipReader reader(fifo.string()); });
  EXPECT_NE(report.find("expected a regular file, found a FIFO (named pipe)"), std::string::npos) << report;
  report = run_with_alarm([] { ZipReader reader("/dev/zero"); });
  EXPECT_NE(report.find("/dev/zero: expected a regular file, found a character device"), std::string::npos) << report;
}

// A member whose headers claim ~4 GB (both sizes, local and central header alike): refused from
// the archive's size, before anything is allocated (the child may not grow by 1 GiB).
TEST_F(ZipArchive, HugeDeclaredSizeIsRefusedBeforeAllocation) {
  const fs::path good = dir_ / "good.keras";
  write_zip(good.string(), {{"a", bytes_of("hello")}});
  std::vector<uint8_t> raw = read_file(good);
  const uint32_t claim = 0xF0000000u;
  put_u32(raw, 18, claim);  // local header: compressed size
  put_u32(raw, 22, claim);  // uncompressed size
  size_t central = raw.size();
  for (size_t i = 0; i + 4 <= raw.size(); ++i) {
    if (u32(raw, i) == 0x02014b50u) {
      central = i;
      break;
    }
  }
  ASSERT_LT(central, raw.size());
  put_u32(raw, central + 20, claim);
  put_u32(raw, central + 24, claim);
  const fs::path bomb = dir_ / "bomb.keras";
  write_file(bomb, raw);
  const std::string report = run_with_alarm([&] { ZipReader(bomb.string()).read("a", int64_t{1} << 40); });
  EXPECT_NE(report.find(bomb.string()), std::string::npos) << report;
  EXPECT_EQ(report.find("other exception"), std::string::npos) << report;

  // Honest sizes but a ratio no compressor reaches: declared 2 MB from 1 compressed byte.
  std::vector<uint8_t> ratio = read_file(good);
  ratio[8] = 8;  // method: deflate (local header)
  put_u32(ratio, 22, 2000000);
  ratio[central + 10] = 8;
  put_u32(ratio, central + 24, 2000000);
  const fs::path ratio_path = dir_ / "ratio.keras";
  write_file(ratio_path, ratio);
  const std::string ratio_report = run_with_alarm([&] { ZipReader(ratio_path.string()).read("a"); });
  EXPECT_NE(ratio_report.find(ratio_path.string()), std::string::npos) << ratio_report;
}

}  // namespace
}  // namespace kerosene::io
