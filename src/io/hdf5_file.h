// HDF5 files through the HDF5 C library, for Keras' weights files (model.weights.h5 inside a
// .keras archive, .weights.h5, legacy Keras 2 .h5): groups, numeric datasets and string
// attributes, nothing more. A file is built in memory (HDF5's core driver) and read from memory
// or disk, so a .keras archive's weights never pass through a temporary file.
//
// Reading is defensive: every failure is an IOError naming the file (`origin`), the object's path
// and what was expected against what was found; HDF5's own error printing is switched off. Size
// fields are checked before anything is allocated from them: a dataset larger than
// H5Limits::max_dataset_bytes, or declaring over 1 MiB and more than 1000x the bytes it stores
// (H5Dget_storage_size; gzip'd zeros come to about 1/1032), is refused;
// links that leave the file (soft, external), external and virtual datasets are refused.
// The HDF5 library Debian ships is not thread-safe: every call here holds one global mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "data/array.h"

namespace kerosene::io {

struct H5Limits {
  int64_t max_dataset_bytes = int64_t{4} << 30;
};

namespace detail {
struct H5FileHandle;  // owns the hid_t of an open file
}

/// A group of an open file. Copies refer to the same group; the file stays open while any of
/// its groups does.
class H5Group {
 public:
  /// The absolute path: "/" for the root, "/layers/dense/vars".
  const std::string& path() const { return path_; }
  /// The file's name (or "<archive>/model.weights.h5"), for messages.
  const std::string& origin() const;

  bool has(const std::string& name) const;          ///< a direct member of any kind
  bool has_group(const std::string& name) const;
  bool has_dataset(const std::string& name) const;
  /// Names of the direct members (groups and datasets), in name order.
  std::vector<std::string> members() const;

  /// Opens a direct member group. Throws IOError "<origin>: <path>/<name>: expected a group,
  /// found <nothing | a dataset>".
  H5Group group(const std::string& name) const;
  /// Creates a direct member group (or opens it if it exists). Only on writable files.
  H5Group create_group(const std::string& name);

  /// Writes a contiguous dataset, no filters, little-endian: float32 -> IEEE F32LE, int32 ->
  /// STD I32LE, int64 -> STD I64LE, uint8 -> STD U8LE. An empty shape writes a scalar dataspace.
  void write_dataset(const std::string& name, const data::Array& array);
  /// The dataset's shape (empty for a scalar), without reading its data.
  std::vector<int64_t> dataset_shape(const std::string& name) const;
  /// Reads a dataset of numbers: any float class (16, 32, 64 bit; HDF5 converts h5py's float16
  /// too) as float32, any integer class as int64 (uint64 above 2^63-1 saturates). Filtered
  /// (gzip) and chunked datasets are read as well. Throws IOError for strings, compounds and the refused kinds above.
  data::Array read_dataset(const std::string& name, const H5Limits& limits = {}) const;

  /// A variable-length UTF-8 string attribute, as h5py writes a Python str.
  void set_string_attribute(const std::string& name, const std::string& value);
  /// An array of fixed-length byte strings (null-padded to the longest), as h5py writes a list of
  /// bytes (Keras 2's layer_names / weight_names). An empty list writes an empty array.
  void set_string_list_attribute(const std::string& name, const std::vector<std::string>& values);
  /// A string attribute, fixed or variable length, scalar or one-element; nullopt if absent.
  std::optional<std::string> string_attribute(const std::string& name) const;
  /// A string-array attribute (fixed or variable length; a scalar string gives one element);
  /// nullopt if absent.
  std::optional<std::vector<std::string>> string_list_attribute(const std::string& name) const;

 private:
  friend class H5File;
  H5Group(std::shared_ptr<detail::H5FileHandle> file, int64_t id, std::string path);
  std::shared_ptr<detail::H5FileHandle> file_;
  std::shared_ptr<int64_t> id_;  // hid_t, closed with the last copy
  std::string path_;
};

class H5File {
 public:
  /// A new, empty, writable file in memory.
  static H5File create(const std::string& origin = "model.weights.h5");
  /// Opens a file on disk read-only. Throws IOError naming it if it is missing, not a regular
  /// file, or not HDF5 ("expected an HDF5 file (signature \x89HDF), found ...").
  static H5File open(const std::string& path);
  /// Opens a file held in memory (a member of a .keras archive) read-only.
  static H5File open_image(std::vector<uint8_t> image, const std::string& origin);

  H5Group root() const;
  const std::string& origin() const;
  /// The bytes of a file made with create() (flushes it first).
  std::vector<uint8_t> image();
  /// image() written to `path` atomically (data::write_file_atomically).
  void save(const std::string& path);

 private:
  explicit H5File(std::shared_ptr<detail::H5FileHandle> handle) : handle_(std::move(handle)) {}
  std::shared_ptr<detail::H5FileHandle> handle_;
};

}  // namespace kerosene::io
