// The fuzz targets of the file readers: one function per reader, each giving `data` to the
// reader as a whole file. Built into the libFuzzer programs (tests/fuzz/targets/, with clang:
// `bash scripts/sanitize.sh fuzz`) and into the gtest suite, which runs every input of the seed
// corpora (tests/fuzz/corpus/<target>/) through them (tests/fuzz/corpus_test.cpp).
//
// Each returns true if the reader accepted the input and false if it rejected it with a
// kerosene::Error, as it must reject any malformed file. Anything else — another exception, a
// crash, a sanitizer report, an allocation over the fuzzer's limit — is a bug in the reader.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kerosene::fuzz {

/// read_idx on the bytes as a file: raw IDX, or gzip that should hold one.
bool idx(const uint8_t* data, size_t size);

/// read_idx on the bytes gzipped first, so that the IDX parser is reached through valid gzip.
bool idx_gz(const uint8_t* data, size_t size);

/// parse_npy on the bytes.
bool npy(const uint8_t* data, size_t size);

/// read_npz on the bytes as a file.
bool npz(const uint8_t* data, size_t size);

/// read_file (whole-file reading with transparent gunzip) on the bytes as a file.
bool gzip(const uint8_t* data, size_t size);

/// read_cifar_pickle on the bytes.
bool pickle(const uint8_t* data, size_t size);

/// TarReader over the bytes as a file (gzipped or not), reading every member of up to 1 MiB.
bool tar(const uint8_t* data, size_t size);

struct Target {
  const char* name;  // the program is build-fuzz/<name>_fuzz, its seeds tests/fuzz/corpus/<name>/
  bool (*run)(const uint8_t* data, size_t size);
};

/// Every target, in a fixed order.
std::span<const Target> targets();

}  // namespace kerosene::fuzz
