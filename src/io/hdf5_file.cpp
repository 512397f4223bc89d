// HDF5 files over the HDF5 C library (1.10, serial). Every call into the library holds one
// recursive mutex (closing an id from a destructor may happen while a caller holds it), and
// every failure becomes an IOError "<origin>: <object path>: what, expected X, found Y".
#include "io/hdf5_file.h"

#include <hdf5.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "data/atomic_file.h"
#include "io/hdf5_internal.h"
#include "io/regular_file.h"
#include "kerosene/error.h"

namespace kerosene::io {

namespace detail {

std::unique_lock<std::recursive_mutex> h5_lock() {
  static std::recursive_mutex mutex;
  std::unique_lock<std::recursive_mutex> lock(mutex);
  static const bool silenced = [] {
    // HDF5 prints its error stack to stderr by default; the IOError says what went wrong.
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
  return lock;
}

std::string h5_reason() {
  // The innermost message of HDF5's error stack ("truncated file: eof = ..."), if any.
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* error, void* out) -> herr_t {
        if (n == 0 && error->desc != nullptr) *static_cast<std::string*>(out) = error->desc;
        return 0;
      },
      &reason);
  H5Eclear2(H5E_DEFAULT);
  return reason;
}

[[noreturn]] void h5_fail(const std::string& origin, const std::string& path, const std::string& what) {
  std::string message = origin;
  message += ": ";
  if (!path.empty()) {
    message += path;
    message += ": ";
  }
  message += what;
  const std::string reason = h5_reason();
  if (!reason.empty()) {
    message += " (HDF5: ";
    message += reason;
    message += ")";
  }
  throw IOError(message);
}

Id::~Id() {
  if (id < 0) return;
  auto lock = h5_lock();
  switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: H5Oclose(id); break;
  }
}

H5FileHandle::~H5FileHandle() {
  if (id < 0) return;
  auto lock = h5_lock();
  H5Fclose(id);
}

}  // namespace detail

using detail::h5_fail;
using detail::h5_lock;
using detail::Id;

namespace {

constexpr char kSignature[8] = {'\x89', 'H', 'D', 'F', '\r', '\n', '\x1a', '\n'};

// The core driver identifies open files by name: two images under the same name would be taken
// for one file. Each in-memory file gets a name of its own.
std::string unique_memory_name() {
  static std::atomic<uint64_t> counter{0};
  return "kerosene-memory-file-" + std::to_string(counter++);
}

std::string describe_bytes(const uint8_t* bytes, size_t size) {
  if (size == 0) return "an empty file";
  std::string found = "a file starting with";
  for (size_t i = 0; i < std::min<size_t>(size, 8); ++i) {
    char hex[4];
    std::snprintf(hex, sizeof(hex), " %02x", bytes[i]);
    found += hex;
  }
  return found;
}

// The HDF5 library is handed only regular files with HDF5's signature; the check gives a message
// better than HDF5's.
void check_hdf5_file(const std::string& path) {
  const RegularFile file = check_regular_file(path, 8);
  if (file.head.size() != 8 || std::memcmp(file.head.data(), kSignature, 8) != 0) {
    std::string message = path;
    message += ": expected an HDF5 file (signature \\x89HDF), found ";
    message += describe_bytes(file.head.data(), file.head.size());
    throw IOError(message);
  }
}

}  // namespace

H5File H5File::create(const std::string& origin) {
  auto lock = h5_lock();
  Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  // 1 MiB growth steps, no backing store: the file lives in memory until image()/save().
  if (fapl.id < 0 || H5Pset_fapl_core(fapl.id, size_t{1} << 20, 0) < 0) {
    h5_fail(origin, "", "cannot set up an in-memory HDF5 file");
  }
  const hid_t file = H5Fcreate(unique_memory_name().c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.id);
  if (file < 0) h5_fail(origin, "", "cannot create an in-memory HDF5 file");
  auto handle = std::make_shared<detail::H5FileHandle>();
  handle->id = file;
  handle->origin = origin;
  handle->writable = true;
  return H5File(std::move(handle));
}

H5File H5File::open(const std::string& path) {
  check_hdf5_file(path);
  auto lock = h5_lock();
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) h5_fail(path, "", "expected a valid HDF5 file, found one HDF5 cannot open (truncated or corrupt?)");
  auto handle = std::make_shared<detail::H5FileHandle>();
  handle->id = file;
  handle->origin = path;
  return H5File(std::move(handle));
}

H5File H5File::open_image(std::vector<uint8_t> image, const std::string& origin) {
  if (image.size() < 8 || std::memcmp(image.data(), kSignature, 8) != 0) {
    std::string message = origin;
    message += ": expected an HDF5 file (signature \\x89HDF), found ";
    message += describe_bytes(image.data(), image.size());
    throw IOError(message);
  }
  auto lock = h5_lock();
  Id fapl(H5Pcreate(H5P_FILE_ACCESS));
  if (fapl.id < 0 || H5Pset_fapl_core(fapl.id, size_t{1} << 20, 0) < 0 ||
      H5Pset_file_image(fapl.id, image.data(), image.size()) < 0) {
    h5_fail(origin, "", "cannot set up an in-memory HDF5 file");
  }
  const hid_t file = H5Fopen(unique_memory_name().c_str(), H5F_ACC_RDONLY, fapl.id);
  if (file < 0) h5_fail(origin, "", "expected a valid HDF5 file, found one HDF5 cannot open (truncated or corrupt?)");
  auto handle = std::make_shared<detail::H5FileHandle>();
  handle->id = file;
  handle->origin = origin;
  return H5File(std::move(handle));
}

H5Group H5File::root() const {
  auto lock = h5_lock();
  const hid_t group = H5Gopen2(handle_->id, "/", H5P_DEFAULT);
  if (group < 0) h5_fail(handle_->origin, "/", "cannot open the root group");
  return H5Group(handle_, group, "/");
}

const std::string& H5File::origin() const { return handle_->origin; }

std::vector<uint8_t> H5File::image() {
  auto lock = h5_lock();
  if (H5Fflush(handle_->id, H5F_SCOPE_GLOBAL) < 0) h5_fail(handle_->origin, "", "cannot flush the file");
  const ssize_t size = H5Fget_file_image(handle_->id, nullptr, 0);
  if (size <= 0) h5_fail(handle_->origin, "", "cannot get the file's image (not an in-memory file?)");
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (H5Fget_file_image(handle_->id, bytes.data(), bytes.size()) != size) {
    h5_fail(handle_->origin, "", "cannot copy the file's image");
  }
  return bytes;
}

void H5File::save(const std::string& path) { data::write_file_atomically(path, image()); }

}  // namespace kerosene::io
