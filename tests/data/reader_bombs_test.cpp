// Hostile files against every reader, each in a child process whose address space may grow by
// only 1 GiB and which must finish within seconds: a reader's memory is bounded by what the
// file justifies, never by what a size field claims, and nothing that is not a regular file
// (a FIFO, /dev/zero) is read at all.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <new>

#include "data/gzip.h"
#include "data/idx_reader.h"
#include "data/npy_reader.h"
#include "data/npz_reader.h"
#include "data/data_test_files.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

using namespace data_testing;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // sanitizers reserve terabytes of address space up front
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

constexpr uint64_t kHeadroom = uint64_t{1} << 30;

// This process's address space now, in bytes (VmSize in /proc/self/status).
uint64_t address_space_in_use() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

// Runs `read` in a child whose address space may grow by kHeadroom and which is killed after
// 20 s; returns "error: <message>" for a kerosene::Error, "ok" for a clean return, or what
// else happened (bad_alloc, another exception, a signal).
std::string run_bounded(const std::function<void()>& read) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return "pipe failed";
  const uint64_t limit = address_space_in_use() + kHeadroom;
  const pid_t pid = fork();
  if (pid == 0) {
    close(pipe_fds[0]);
    const rlimit cap{limit, limit};
    setrlimit(RLIMIT_AS, &cap);
    alarm(20);
    std::string report = "ok";
    try {
      read();
    } catch (const Error& e) {
      report = std::string("error: ") + e.what();
    } catch (const std::bad_alloc&) {
      report = "std::bad_alloc escaped";
    } catch (const std::exception& e) {
      report = std::string("other exception: ") + e.what();
    }
    const ssize_t written = write(pipe_fds[1], report.data(), report.size());
    _exit(written == static_cast<ssize_t>(report.size()) ? 0 : 1);
  }
  close(pipe_fds[1]);
  std::string report;
  char buffer[4096];
  ssize_t n = 0;
  while ((n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) report.append(buffer, static_cast<size_t>(n));
  close(pipe_fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) {
    return "killed by signal " + std::to_string(WTERMSIG(status)) +
           (WTERMSIG(status) == SIGALRM ? " (took over 20 s)" : "");
  }
  return report;
}

#define SKIP_IF_SANITIZED() \
  if (kSanitized) GTEST_SKIP() << "an address-space limit cannot be set under a sanitizer"

// A 1 MiB deflated block of zeros is about 1 KiB: the brick bombs are built from.
const Bytes& zeros_npy() {
  static const Bytes npy = npy_bytes("|u1", "(16777216,)", Bytes(16 << 20, 0));
  return npy;
}

TEST(ReaderBombs, NpzMemberClaimingGigabytesIsRefusedBeforeAllocating) {
  SKIP_IF_SANITIZED();
  TempDir dir;
  Bytes zip = zip_bytes({{"x.npy", npy_bytes("|u1", "(4,)", Bytes{1, 2, 3, 4}), true}});
  // The central directory's uncompressed size, 4 GiB - 16, from a few bytes of deflate data.
  const uint64_t directory = zip[zip.size() - 6] | zip[zip.size() - 5] << 8 |
                             zip[zip.size() - 4] << 16 | uint64_t{zip[zip.size() - 3]} << 24;
  for (int i = 0; i < 4; ++i) zip[directory + 24 + i] = i == 0 ? 0xF0 : 0xFF;
  ASSERT_LT(zip.size(), 300u);
  write_file(dir / "bomb.npz", zip);
  const std::string report = run_bounded([&] { read_npz(dir / "bomb.npz"); });
  EXPECT_CONTAINS(report, "error: ");
  EXPECT_CONTAINS(report, "bomb.npz");
  EXPECT_CONTAINS(report, "claims 4294967280 bytes");
  EXPECT_CONTAINS(report, "more than deflate can produce");
}

TEST(ReaderBombs, NpzMembersSharingOneBlockAreRefused) {
  SKIP_IF_SANITIZED();
  TempDir dir;
  // One 16 MiB member, then its central directory entry repeated 200 times under other names:
  // read naively, 3.2 GB of arrays from a 40 KB file.
  const Bytes one = zip_bytes({{"a000.npy", zeros_npy(), true}});
  const size_t end = one.size() - 22;
  const uint64_t directory = one[end + 16] | one[end + 17] << 8 | one[end + 18] << 16 |
                             uint64_t{one[end + 19]} << 24;
  const Bytes entry(one.begin() + static_cast<std::ptrdiff_t>(directory), one.begin() + static_cast<std::ptrdiff_t>(end));
  Bytes zip(one.begin(), one.begin() + static_cast<std::ptrdiff_t>(directory));
  constexpr int kEntries = 200;
  for (int i = 0; i < kEntries; ++i) {
    Bytes copy = entry;
    char name[16];
    std::snprintf(name, sizeof name, "a%03d", i);
    std::copy(name, name + 4, copy.begin() + 46);
    zip.insert(zip.end(), copy.begin(), copy.end());
  }
  Bytes end_record(one.begin() + static_cast<std::ptrdiff_t>(end), one.end());
  end_record[8] = end_record[10] = kEntries;
  const uint64_t directory_size = entry.size() * kEntries;
  for (int i = 0; i < 4; ++i) end_record[12 + i] = static_cast<uint8_t>(directory_size >> (8 * i));
  zip.insert(zip.end(), end_record.begin(), end_record.end());
  write_file(dir / "overlap.npz", zip);
  const std::string report = run_bounded([&] { read_npz(dir / "overlap.npz"); });
  EXPECT_CONTAINS(report, "error: ");
  EXPECT_CONTAINS(report, "member 'a001.npy' shares its data with another member");
}

// Concatenated gzip members are one stream: a 1 KiB member of zeros repeated expands 1000-fold.
Bytes gzip_zeros_repeated(size_t member_bytes, int members) {
  const Bytes member = gzip_bytes(Bytes(member_bytes, 0));
  Bytes out;
  for (int i = 0; i < members; ++i) out.insert(out.end(), member.begin(), member.end());
  return out;
}

TEST(ReaderBombs, GzipIdxExpandingFarPastItsHeaderStopsAtTheHeader) {
  SKIP_IF_SANITIZED();
  TempDir dir;
  // A valid IDX of 1000 labels, then 2 GiB of zeros in 128 more members (about 2 MB on disk).
  Bytes gz = gzip_bytes(idx_bytes(0x08, {1000}, Bytes(1000, 3)));
  const Bytes tail = gzip_zeros_repeated(16 << 20, 128);
  gz.insert(gz.end(), tail.begin(), tail.end());
  write_file(dir / "labels.gz", gz);
  const std::string report = run_bounded([&] { read_idx(dir / "labels.gz"); });
  EXPECT_CONTAINS(report, "error: IDX file '" + dir / "labels.gz" + "' has trailing data");
  EXPECT_CONTAINS(report, "needs 1000 data bytes, found more");
}

TEST(ReaderBombs, GzipIdxClaimingMoreThanItHoldsCostsOnlyWhatItHolds) {
  SKIP_IF_SANITIZED();
  TempDir dir;
  // The header claims 4 GiB - 1 bytes (within what 4 MB of gzip could expand to), the data
  // stops after 64 MiB: the buffer must grow with the data, not be allocated from the claim.
  Bytes gz = gzip_bytes(idx_bytes(0x08, {0xFFFFFFFF}, {}));
  const Bytes tail = gzip_zeros_repeated(16 << 20, 4);
  gz.insert(gz.end(), tail.begin(), tail.end());
  gz.resize(gz.size() + (4 << 20), 0);  // padding after the members, ignored as gzip does
  write_file(dir / "images.gz", gz);
  const std::string report = run_bounded([&] { read_idx(dir / "images.gz"); });
  EXPECT_CONTAINS(report, "is truncated");
  EXPECT_CONTAINS(report, "needs 4294967295 data bytes, found 67108864");
}

TEST(ReaderBombs, ReadFileStopsAtItsLimit) {
  SKIP_IF_SANITIZED();
  TempDir dir;
  write_file(dir / "big.gz", gzip_zeros_repeated(16 << 20, 128));
  const std::string report = run_bounded([&] { read_file(dir / "big.gz", 100 << 20); });
  EXPECT_CONTAINS(report, "expand to more than the 104857600 bytes expected");
}

TEST(ReaderBombs, DeviceFilesAreRefusedNotRead) {
  SKIP_IF_SANITIZED();
  TempDir dir;
  std::filesystem::create_symlink("/dev/zero", dir / "train-images-idx3-ubyte");
  for (const auto& read : std::vector<std::function<void()>>{
           [&] { read_idx(dir / "train-images-idx3-ubyte"); },
           [&] { read_npz(dir / "train-images-idx3-ubyte"); },
           [&] { read_npy(dir / "train-images-idx3-ubyte"); },
           [&] { read_file_bytes(dir / "train-images-idx3-ubyte"); }}) {
    const std::string report = run_bounded(read);
    EXPECT_CONTAINS(report, "it is a character device, expected a regular file");
  }
}

TEST(ReaderBombs, FifoIsRefusedWithoutWaiting) {
  TempDir dir;
  ASSERT_EQ(mkfifo((dir / "labels").c_str(), 0600), 0);
  const std::string report = run_bounded([&] { read_idx(dir / "labels"); });
  EXPECT_CONTAINS(report, "it is a FIFO (named pipe), expected a regular file");
}

TEST(ReaderBombs, OversizedFileIsRefusedByItsSize) {
  TempDir dir;
  write_file(dir / "f", Bytes(100, 1));
  try {
    read_file_bytes(dir / "f", 99);
    FAIL() << "no IOError";
  } catch (const IOError& e) {
    EXPECT_CONTAINS(e.what(), "it is 100 bytes, more than the 99 expected of it");
  }
  EXPECT_EQ(read_file_bytes(dir / "f", 100).size(), 100u);
}

TEST(ReaderBombs, OutOfMemoryNamesWhatAndHowMuch) {
  SKIP_IF_SANITIZED();
  std::vector<uint8_t> buffer;
  try {
    resize_or_throw(buffer, std::numeric_limits<size_t>::max() / 2, "the test's buffer");
    FAIL() << "no ResourceExhaustedError";
  } catch (const ResourceExhaustedError& e) {
    EXPECT_CONTAINS(e.what(), "cannot allocate 9223372036854775807 bytes for the test's buffer");
  }
}

}  // namespace
}  // namespace kerosene::data
