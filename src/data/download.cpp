#include "data/download.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "data/sha256.h"
#include "kerosene/error.h"

#if KEROSENE_WITH_CURL
#include <curl/curl.h>
#endif

namespace kerosene::data {

#if KEROSENE_WITH_CURL
namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
  std::FILE* file = nullptr;
  Sha256 hash;
  uint64_t received = 0, max_bytes = 0;
  bool too_large = false, write_failed = false;
  bool terminal = false;
  Clock::time_point start = Clock::now(), last_draw{};
};

void draw(const Transfer& t, curl_off_t total, bool done) {
  const double seconds = std::chrono::duration<double>(Clock::now() - t.start).count();
  const std::string target = total > 0 ? std::to_string(total) : "Unknown";
  std::string bar;
  if (total > 0) {
    const int filled = static_cast<int>(30.0 * static_cast<double>(t.received) / static_cast<double>(total));
    bar = " [" + std::string(static_cast<size_t>(std::min(filled, 30)), '=') +
          std::string(static_cast<size_t>(30 - std::min(filled, 30)), '.') + "]";
  }
  std::fprintf(stderr, "%s%llu/%s%s - %.0fs%s", t.terminal ? "\r" : "", static_cast<unsigned long long>(t.received),
               target.c_str(), bar.c_str(), seconds, done || !t.terminal ? "\n" : "");
  std::fflush(stderr);
}

size_t on_data(char* data, size_t size, size_t count, void* user) {
  auto& t = *static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (t.received + n > t.max_bytes) {
    t.too_large = true;
    return 0;  // curl aborts the transfer
  }
  if (std::fwrite(data, 1, n, t.file) != n) {
    t.write_failed = true;
    return 0;
  }
  t.hash.update(reinterpret_cast<const uint8_t*>(data), n);
  t.received += n;
  return n;
}

int on_progress(void* user, curl_off_t total, curl_off_t, curl_off_t, curl_off_t) {
  auto& t = *static_cast<Transfer*>(user);
  if (t.terminal && Clock::now() - t.last_draw > std::chrono::milliseconds(100)) {
    t.last_draw = Clock::now();
    draw(t, total, false);
  }
  return 0;
}

}  // namespace

bool can_download() { return true; }

void download_file(const std::string& url, const std::string& path, const std::string& sha256, uint64_t max_bytes) {
  const std::string part = path + ".kerosene-" + std::to_string(::getpid()) + ".part";
  Transfer t;
  t.max_bytes = max_bytes;
  t.terminal = ::isatty(2) != 0;
  t.file = std::fopen(part.c_str(), "wb");
  if (t.file == nullptr) throw IOError("cannot download into '" + path + "': cannot create '" + part + "'");
  auto fail = [&](const std::string& why) {
    if (t.file != nullptr) std::fclose(t.file);
    t.file = nullptr;
    std::remove(part.c_str());
    throw IOError("cannot download " + url + ": " + why);
  };
  std::fprintf(stderr, "Downloading data from %s\n", url.c_str());
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) fail("libcurl could not start");
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl.get(), CURLOPT_FAILONERROR, 1L);  // HTTP >= 400 is an error
  curl_easy_setopt(curl.get(), CURLOPT_CONNECTTIMEOUT, 20L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl.get(), CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(curl.get(), CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl.get(), CURLOPT_NOPROGRESS, 0L);
  const CURLcode code = curl_easy_perform(curl.get());
  if (t.too_large) fail("it is larger than the " + std::to_string(max_bytes) + " bytes expected of it");
  if (t.write_failed) fail("writing '" + part + "' failed (disk full?)");
  if (code != CURLE_OK) {
    long status = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
    fail(status >= 400 ? "the server answered HTTP " + std::to_string(status)
                       : std::string(error[0] != '\0' ? error : curl_easy_strerror(code)) + " (offline?)");
  }
  curl_off_t total = -1;
  curl_easy_getinfo(curl.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &total);
  draw(t, total, true);
  if (std::fflush(t.file) != 0 || ::fsync(::fileno(t.file)) != 0) fail("writing '" + part + "' failed (disk full?)");
  const std::string found = t.hash.hex_digest();
  if (!sha256.empty() && found != sha256) {
    fail("the file's SHA-256 is " + found + ", expected " + sha256 +
         " (a corrupt or tampered download; nothing was kept)");
  }
  std::fclose(t.file);
  t.file = nullptr;
  std::error_code ec;
  std::filesystem::rename(part, path, ec);
  if (ec) fail("renaming '" + part + "' to '" + path + "' failed: " + ec.message());
}

#else

bool can_download() { return false; }

void download_file(const std::string& url, const std::string&, const std::string&, uint64_t) {
  throw IOError("cannot download " + url +
                ": this build of kerosene has no HTTP client (it was built without libcurl; install "
                "libcurl4-openssl-dev and rebuild)");
}

#endif

}  // namespace kerosene::data
