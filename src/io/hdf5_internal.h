// What hdf5_file.cpp, hdf5_group.cpp and hdf5_attributes.cpp share: the global lock, the
// error helper and an owner of one HDF5 id. Ids are int64_t (hid_t) so that this header needs
// no hdf5.h.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace kerosene::io::detail {

/// Held around every HDF5 call (Debian's HDF5 is not thread-safe). The first call also switches
/// off HDF5's printing of its error stack.
std::unique_lock<std::recursive_mutex> h5_lock();

/// Throws IOError "<origin>: <path>: <what> (HDF5: <innermost message>)" and clears HDF5's
/// error stack.
[[noreturn]] void h5_fail(const std::string& origin, const std::string& path, const std::string& what);

/// Closes its id (of any kind) when it goes out of scope.
struct Id {
  explicit Id(int64_t id_) : id(id_) {}
  Id(const Id&) = delete;
  Id& operator=(const Id&) = delete;
  ~Id();
  int64_t id;
};

struct H5FileHandle {
  int64_t id = -1;
  std::string origin;
  bool writable = false;
  ~H5FileHandle();
};

}  // namespace kerosene::io::detail
