// Downloading a dataset file into Keras' cache, as keras.utils.get_file does: progress on
// stderr, the SHA-256 Keras publishes checked, and the file renamed into place only when it is
// whole and checked, so the cache never holds half a file.
#pragma once

#include <cstdint>
#include <string>

namespace kerosene::data {

/// Whether this build can download (it was built with libcurl).
bool can_download();

/// Downloads `url` to `path`. `sha256` (64 hex digits) is checked when not empty. At most
/// `max_bytes` are accepted. Prints "Downloading data from <url>" and a progress bar to stderr.
/// Throws IOError naming the URL on a network error (with curl's words), an HTTP status other
/// than 200, more than `max_bytes`, a hash that differs (expected and found), or a file that
/// cannot be written; nothing is left under `path` then. A connection that cannot be made in
/// 20 s, or a transfer slower than 1 KB/s for 30 s, is an error rather than a wait.
void download_file(const std::string& url, const std::string& path, const std::string& sha256, uint64_t max_bytes);

}  // namespace kerosene::data
