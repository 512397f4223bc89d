// Zip archives over libzip. Writing builds the archive in memory (a buffer source) and hands
// the bytes to write_file_atomically; reading checks every size libzip reports before
// allocating from it, and reads each member to its end so that libzip checks its CRC.
#include "io/zip_archive.h"

#include <zip.h>

#include <cerrno>
#include <cstring>

#include "data/atomic_file.h"
#include "io/regular_file.h"
#include "kerosene/error.h"

namespace kerosene::io {
namespace {

// Deflate cannot compress by more than about 1032:1; a member claiming more is a zip bomb.
constexpr uint64_t kMaxRatio = 1032;

std::string libzip_message(int code) {
  zip_error_t error;
  zip_error_init_with_code(&error, code);
  std::string message = zip_error_strerror(&error);
  zip_error_fini(&error);
  return message;
}

std::string libzip_message(zip_error_t* error) { return zip_error_strerror(error); }

[[noreturn]] void fail(const std::string& archive, const std::string& member, const std::string& what) {
  std::string message = archive;
  message += ": ";
  if (!member.empty()) {
    message += member;
    message += ": ";
  }
  message += what;
  throw IOError(message);
}

// An archive without members: libzip writes nothing at all for one, so it is written by hand
// (the 22-byte end-of-central-directory record).
std::vector<uint8_t> empty_archive() {
  std::vector<uint8_t> bytes(22, 0);
  bytes[0] = 'P';
  bytes[1] = 'K';
  bytes[2] = 5;
  bytes[3] = 6;
  return bytes;
}

std::vector<uint8_t> build_archive(const std::string& path, const std::vector<ZipMember>& members) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  if (buffer == nullptr) fail(path, "", "cannot create the archive in memory: " + libzip_message(&error));
  zip_source_keep(buffer);  // zip_close would free it; its bytes are read afterwards
  struct Release {
    zip_source_t* source;
    ~Release() { zip_source_free(source); }
  } release{buffer};
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  if (archive == nullptr) fail(path, "", "cannot create the archive in memory: " + libzip_message(&error));
  for (const ZipMember& member : members) {
    // The member's bytes are not copied: they live until zip_close below.
    zip_source_t* data = zip_source_buffer(archive, member.data.data(), member.data.size(), 0);
    const zip_int64_t index =
        data == nullptr ? -1 : zip_file_add(archive, member.name.c_str(), data, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      if (data != nullptr) zip_source_free(data);
      const std::string reason = zip_strerror(archive);
      zip_discard(archive);
      fail(path, member.name, "cannot add the member: " + reason);
    }
    if (zip_set_file_compression(archive, static_cast<zip_uint64_t>(index), ZIP_CM_STORE, 0) < 0) {
      const std::string reason = zip_strerror(archive);
      zip_discard(archive);
      fail(path, member.name, "cannot store the member uncompressed: " + reason);
    }
  }
  if (zip_close(archive) < 0) {
    const std::string reason = zip_strerror(archive);
    zip_discard(archive);
    fail(path, "", "cannot write the archive: " + reason);
  }
  std::vector<uint8_t> bytes;
  if (zip_source_open(buffer) < 0) fail(path, "", "cannot read the archive back from memory");
  if (zip_source_seek(buffer, 0, SEEK_END) == 0) {
    const zip_int64_t size = zip_source_tell(buffer);
    if (size > 0 && zip_source_seek(buffer, 0, SEEK_SET) == 0) {
      bytes.resize(static_cast<size_t>(size));
      if (zip_source_read(buffer, bytes.data(), bytes.size()) != size) bytes.clear();
    }
  }
  zip_source_close(buffer);
  if (bytes.empty()) fail(path, "", "cannot read the archive back from memory");
  return bytes;
}

}  // namespace

void write_zip(const std::string& path, const std::vector<ZipMember>& members) {
  data::write_file_atomically(path, members.empty() ? empty_archive() : build_archive(path, members));
}

ZipReader::ZipReader(const std::string& path) : path_(path) {
  check_regular_file(path);
  int code = 0;
  archive_ = zip_open(path.c_str(), ZIP_RDONLY | ZIP_CHECKCONS, &code);
  if (archive_ == nullptr) {
    fail(path, "", "expected a zip archive, found one libzip cannot open: " + libzip_message(code));
  }
}

ZipReader::~ZipReader() {
  if (archive_ != nullptr) zip_discard(static_cast<zip_t*>(archive_));
}

std::vector<std::string> ZipReader::names() const {
  auto* archive = static_cast<zip_t*>(archive_);
  std::vector<std::string> names;
  const zip_int64_t count = zip_get_num_entries(archive, 0);
  for (zip_int64_t i = 0; i < count; ++i) {
    const char* name = zip_get_name(archive, static_cast<zip_uint64_t>(i), 0);
    if (name != nullptr) names.emplace_back(name);
  }
  return names;
}

bool ZipReader::has(const std::string& name) const {
  return zip_name_locate(static_cast<zip_t*>(archive_), name.c_str(), 0) >= 0;
}

std::vector<uint8_t> ZipReader::read(const std::string& name, int64_t max_bytes) const {
  auto* archive = static_cast<zip_t*>(archive_);
  const zip_int64_t index = zip_name_locate(archive, name.c_str(), 0);
  if (index < 0) {
    std::string listing;
    for (const std::string& member : names()) {
      if (!listing.empty()) listing += ", ";
      listing += member;
    }
    std::string what = "expected a member ";
    what += name;
    what += ", the archive has: ";
    what += listing.empty() ? "nothing" : listing;
    fail(path_, "", what);
  }
  zip_stat_t st;
  zip_stat_init(&st);
  const zip_uint64_t required = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD;
  if (zip_stat_index(archive, static_cast<zip_uint64_t>(index), 0, &st) < 0 || (st.valid & required) != required) {
    fail(path_, name, "cannot read the member's sizes: " + std::string(zip_strerror(archive)));
  }
  if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE) {
    fail(path_, name, "expected an unencrypted member, found an encrypted one");
  }
  const uint64_t archive_size = check_regular_file(path_).size;
  if (max_bytes < 0 || st.size > static_cast<uint64_t>(max_bytes)) {
    fail(path_, name, "expected a member of at most " + std::to_string(max_bytes) + " bytes, found " +
                          std::to_string(st.size));
  }
  if (st.comp_size > archive_size) {
    fail(path_, name, "expected a member within the archive's " + std::to_string(archive_size) +
                          " bytes, found one of " + std::to_string(st.comp_size) + " compressed bytes (truncated?)");
  }
  if (st.size / kMaxRatio > st.comp_size ||
      (st.comp_method == ZIP_CM_STORE && st.size != st.comp_size)) {
    fail(path_, name, "expected at most " + std::to_string(kMaxRatio) + "x its " + std::to_string(st.comp_size) +
                          " compressed bytes, found a member declaring " + std::to_string(st.size) + " bytes");
  }
  zip_file_t* file = zip_fopen_index(archive, static_cast<zip_uint64_t>(index), 0);
  if (file == nullptr) fail(path_, name, "cannot open the member: " + std::string(zip_strerror(archive)));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.size));
  uint64_t done = 0;
  std::string problem;
  while (problem.empty()) {
    // One byte past the declared size: the read that reaches the end is the one that checks the CRC.
    uint8_t extra = 0;
    uint8_t* target = done < bytes.size() ? bytes.data() + done : &extra;
    const uint64_t wanted = done < bytes.size() ? bytes.size() - done : 1;
    const zip_int64_t got = zip_fread(file, target, wanted);
    if (got < 0) {
      problem = std::string("cannot read the member (corrupt or truncated?): ") + zip_file_strerror(file);
    } else if (got == 0) {
      if (done != bytes.size()) {
        problem = "expected " + std::to_string(bytes.size()) + " bytes, found " + std::to_string(done);
      }
      break;
    } else if (target == &extra) {
      problem = "expected " + std::to_string(bytes.size()) + " bytes, found more";
    } else {
      done += static_cast<uint64_t>(got);
    }
  }
  zip_fclose(file);
  if (!problem.empty()) fail(path_, name, problem);
  return bytes;
}

}  // namespace kerosene::io
