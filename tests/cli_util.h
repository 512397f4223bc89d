// Helpers for tests that run processes: the `kerosene` command (with its output captured and
// its environment set), and this test binary itself in a fresh process, for tests that need a
// runtime nobody has initialized yet.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "kerosene/config.h"

/// Expects `text` to contain `part`, printing the whole text when it does not.
#define KEROSENE_EXPECT_CONTAINS(text, part)                  \
  EXPECT_NE(std::string(text).find(part), std::string::npos) \
      << "expected to find \"" << (part) << "\" in:\n"       \
      << (text)

namespace kerosene::test_util {

namespace fs = std::filesystem;

/// Expects `f` to throw E whose message contains every one of `parts`.
template <typename E, typename F>
void expect_error(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
    ADD_FAILURE() << "nothing was thrown";
  } catch (const E& e) {
    for (const std::string& part : parts) KEROSENE_EXPECT_CONTAINS(e.what(), part);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "another exception was thrown: " << e.what();
  }
}

/// A fresh directory under the system temp directory, removed with its contents at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("kerosene_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

inline std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

/// `bytes` compressed as a gzip stream (what the .gz IDX files hold).
inline std::vector<uint8_t> gzip(const std::vector<uint8_t>& bytes) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::vector<uint8_t> out(deflateBound(&z, bytes.size()) + 64);
  z.next_in = const_cast<Bytef*>(bytes.data());
  z.avail_in = static_cast<uInt>(bytes.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

/// An IDX file of unsigned bytes with the given dimensions; `fill(i)` gives element i.
inline std::vector<uint8_t> idx_ubyte(const std::vector<uint32_t>& dims,
                                      const std::function<uint8_t(size_t)>& fill) {
  std::vector<uint8_t> out{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  size_t n = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(d >> shift));
    n *= d;
  }
  for (size_t i = 0; i < n; ++i) out.push_back(fill(i));
  return out;
}

/// Writes a small MNIST-like dataset (the four .gz IDX files) into `dir`: `train` and `test`
/// 28x28 images, with `label_delta` more (or fewer) training labels than images.
inline void write_small_mnist(const fs::path& dir, uint32_t train, uint32_t test, int label_delta = 0) {
  auto image = [](size_t i) { return static_cast<uint8_t>((i * 37) % 256); };
  auto label = [](size_t i) { return static_cast<uint8_t>(i % 10); };
  const uint32_t train_labels = static_cast<uint32_t>(static_cast<int>(train) + label_delta);
  write_bytes(dir / "train-images-idx3-ubyte.gz", gzip(idx_ubyte({train, 28, 28}, image)));
  write_bytes(dir / "train-labels-idx1-ubyte.gz", gzip(idx_ubyte({train_labels}, label)));
  write_bytes(dir / "t10k-images-idx3-ubyte.gz", gzip(idx_ubyte({test, 28, 28}, image)));
  write_bytes(dir / "t10k-labels-idx1-ubyte.gz", gzip(idx_ubyte({test}, label)));
}

/// A small MNIST (the four IDX files) in a scratch directory, so a training run takes well
/// under a second.
struct SmallMnist {
  ScratchDir root;
  std::string dir;
  explicit SmallMnist(uint32_t train = 256, uint32_t test = 64) : dir((root.path() / "mnist").string()) {
    fs::create_directories(dir);
    write_small_mnist(dir, train, test);
  }
};

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

/// What a finished command left: its exit code (128 + signal number if a signal ended it)
/// and everything it wrote.
struct CommandResult {
  int exit_code = -1;
  std::string out, err;
  double seconds = 0;  ///< wall time
  bool crashed() const { return exit_code >= 128; }
};

/// The whole result, for a failure message.
inline std::string describe(const CommandResult& r) {
  return "exit code " + std::to_string(r.exit_code) + " after " + std::to_string(r.seconds) + " s\n--- stdout:\n" +
         r.out + "\n--- stderr:\n" + r.err;
}

/// A failure the user caused: nothing on stdout, a "kerosene: error: " message on stderr naming
/// every one of `parts`, and an exit code that is neither success, nor kerosene's "internal
/// error" (3), nor a signal; `exit_code`, where given, is the one expected.
inline void expect_user_error(const CommandResult& r, const std::vector<std::string>& parts, int exit_code = -1) {
  if (exit_code >= 0) {
    EXPECT_EQ(r.exit_code, exit_code) << describe(r);
  } else {
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.exit_code, 3) << "reported as an internal error: " << describe(r);
  }
  EXPECT_FALSE(r.crashed()) << describe(r);
  EXPECT_TRUE(r.out.empty()) << describe(r);
  KEROSENE_EXPECT_CONTAINS(r.err, "kerosene: error: ");
  for (const std::string& part : parts) KEROSENE_EXPECT_CONTAINS(r.err, part);
}

/// Runs `command` through the shell, stdin empty, capturing stdout and stderr.
inline CommandResult run_shell(const std::string& command) {
  ScratchDir dir;
  std::string full = command;
  full += " >";
  full += shell_quote(dir / "out");
  full += " 2>";
  full += shell_quote(dir / "err");
  full += " </dev/null";
  const auto start = std::chrono::steady_clock::now();
  const int status = std::system(full.c_str());
  CommandResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status == -1) {
    ADD_FAILURE() << "could not run: " << full;
  } else if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exit_code = 128 + WTERMSIG(status);
  }
  r.out = read_text(dir / "out");
  r.err = read_text(dir / "err");
  return r;
}

/// Runs the `kerosene` binary with `args` (each quoted for the shell) and the extra environment
/// variables `env` (a variable given an empty value is removed), capturing stdout and stderr.
inline CommandResult run_cli(const std::vector<std::string>& args,
                             const std::vector<std::pair<std::string, std::string>>& env = {}) {
  // Appended piece by piece: `" " + std::string` trips a false -Wrestrict in GCC 12.
  std::string command = "env";
  auto append = [&](const char* separator, const std::string& word) {
    command += separator;
    command += shell_quote(word);
  };
  // env(1) takes every -u before the first NAME=VALUE (after it, "-u" would be the command).
  for (const auto& [name, value] : env) {
    if (value.empty()) append(" -u ", name);
  }
  for (const auto& [name, value] : env) {
    if (!value.empty()) append(" ", name + "=" + value);
  }
  append(" ", KEROSENE_CLI_PATH);
  for (const std::string& a : args) append(" ", a);
  return run_shell(command);
}

// --- Running a check in a fresh process --------------------------------------------------------

/// Ends the fresh process with a failure, saying where and what (shown by the parent's EXPECT_EXIT).
[[noreturn]] inline void fresh_fail(const char* file, int line, const std::string& what) {
  std::fprintf(stderr, "\n%s:%d: check failed: %s\n", file, line, what.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

/// A check for code that runs in a fresh process (gtest's EXPECT_* do not report from there).
#define FRESH_CHECK(condition)                                                               \
  do {                                                                                       \
    if (!(condition)) ::kerosene::test_util::fresh_fail(__FILE__, __LINE__, #condition);    \
  } while (0)
#define FRESH_CHECK_MSG(condition, message)                                                  \
  do {                                                                                       \
    if (!(condition)) {                                                                      \
      ::kerosene::test_util::fresh_fail(__FILE__, __LINE__, std::string(#condition) + ": " + \
                                                                (message));                  \
    }                                                                                        \
  } while (0)

/// Runs `f`, which must throw E; returns the message. Fails the fresh process otherwise.
template <typename E, typename F>
std::string fresh_expect_throw(const char* file, int line, F&& f, std::initializer_list<const char*> parts = {}) {
  try {
    f();
  } catch (const E& e) {
    const std::string message = e.what();
    for (const char* part : parts) {
      if (message.find(part) == std::string::npos) {
        fresh_fail(file, line, "the message does not contain \"" + std::string(part) + "\": " + message);
      }
    }
    return message;
  } catch (const std::exception& e) {
    fresh_fail(file, line, std::string("threw another exception type: ") + e.what());
  }
  fresh_fail(file, line, "did not throw");
}
#define FRESH_EXPECT_THROW(E, statement, ...) \
  ::kerosene::test_util::fresh_expect_throw<E>(__FILE__, __LINE__, [&] { statement; } __VA_OPT__(, {__VA_ARGS__}))

/// Runs `body` in a fresh copy of this test binary, so that the kerosene runtime starts there
/// uninitialized: gtest's "threadsafe" death-test style re-executes the binary for this one test.
/// The body checks with FRESH_CHECK*; it passes when it returns without throwing. Code in the
/// test before this call runs in both processes, so keep it to this call.
inline void run_in_fresh_process(const std::function<void()>& body) {
  const std::string previous_style = GTEST_FLAG_GET(death_test_style);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        if (config::is_runtime_initialized()) {
          fresh_fail(__FILE__, __LINE__,
                     "the runtime was initialized before this test's body ran (" + config::runtime_initialized_by() +
                         "): some code in the test binary creates tensors outside a test body, e.g. in an "
                         "INSTANTIATE_TEST_SUITE_P generator or a global; create them inside the tests instead");
        }
        try {
          body();
        } catch (const std::exception& e) {
          fresh_fail(__FILE__, __LINE__, std::string("unexpected exception: ") + e.what());
        }
        std::fflush(stdout);
        std::fflush(stderr);
        std::_Exit(0);  // not exit(): the runtime's worker threads may still be running
      },
      ::testing::ExitedWithCode(0), "");
  GTEST_FLAG_SET(death_test_style, previous_style);
}

}  // namespace kerosene::test_util
