// String attributes of a group, in the two forms h5py writes: a Python str as a variable-length
// UTF-8 scalar, a list of bytes (Keras 2's layer_names, weight_names) as an array of fixed-length,
// null-padded strings.
#include <hdf5.h>

#include <algorithm>
#include <cstring>

#include "io/hdf5_file.h"
#include "io/hdf5_internal.h"
#include "kerosene/error.h"

namespace kerosene::io {

using detail::h5_fail;
using detail::h5_lock;
using detail::Id;

namespace {

// Attributes are small (64 KiB in HDF5's compact storage); a larger claim is not believed.
constexpr uint64_t kMaxAttributeBytes = uint64_t{64} << 20;

std::string attribute_path(const std::string& group, const std::string& name) {
  std::string path = group;
  path += "[@";
  path += name;
  path += "]";
  return path;
}

// Deletes an existing attribute of that name, so that setting one replaces it.
void remove_attribute(hid_t group, const std::string& name, const std::string& origin, const std::string& path) {
  const htri_t exists = H5Aexists(group, name.c_str());
  if (exists < 0) h5_fail(origin, path, "cannot look up the attribute");
  if (exists > 0 && H5Adelete(group, name.c_str()) < 0) h5_fail(origin, path, "cannot replace the attribute");
}

// Reads a string attribute's elements; nullopt if absent. An empty array of any type (h5py
// writes an empty list as float64[0]) is an empty list.
std::optional<std::vector<std::string>> read_strings(hid_t group, const std::string& name,
                                                     const std::string& origin, const std::string& group_path) {
  const std::string path = attribute_path(group_path, name);
  const htri_t exists = H5Aexists(group, name.c_str());
  if (exists < 0) h5_fail(origin, path, "cannot look up the attribute");
  if (exists == 0) return std::nullopt;
  Id attribute(H5Aopen(group, name.c_str(), H5P_DEFAULT));
  if (attribute.id < 0) h5_fail(origin, path, "cannot open the attribute");
  Id space(H5Aget_space(attribute.id));
  const hssize_t count = H5Sget_simple_extent_npoints(space.id);
  if (space.id < 0 || count < 0) h5_fail(origin, path, "cannot read the attribute's dataspace");
  if (H5Sget_simple_extent_type(space.id) == H5S_NULL) return std::vector<std::string>{};
  Id file_type(H5Aget_type(attribute.id));
  if (H5Tget_class(file_type.id) != H5T_STRING) {
    if (count == 0) return std::vector<std::string>{};
    h5_fail(origin, path, "expected a string attribute, found another element type");
  }
  const auto n = static_cast<size_t>(count);
  std::vector<std::string> values;
  if (H5Tis_variable_str(file_type.id) > 0) {
    if (n > kMaxAttributeBytes / sizeof(char*)) h5_fail(origin, path, "expected a small attribute, found " + std::to_string(n) + " strings");
    Id memory_type(H5Tcopy(H5T_C_S1));
    H5Tset_size(memory_type.id, H5T_VARIABLE);
    H5Tset_cset(memory_type.id, H5Tget_cset(file_type.id));
    std::vector<char*> pointers(n, nullptr);
    if (n > 0 && H5Aread(attribute.id, memory_type.id, pointers.data()) < 0) {
      h5_fail(origin, path, "cannot read the attribute");
    }
    for (char* p : pointers) values.emplace_back(p != nullptr ? p : "");
    if (n > 0) H5Dvlen_reclaim(memory_type.id, space.id, H5P_DEFAULT, pointers.data());
  } else {
    const size_t size = H5Tget_size(file_type.id);
    if (size == 0 || n > kMaxAttributeBytes / size) {
      h5_fail(origin, path, "expected a small attribute, found " + std::to_string(n) + " strings of " +
                                std::to_string(size) + " bytes");
    }
    Id memory_type(H5Tcopy(file_type.id));
    std::vector<char> buffer(n * size);
    if (n > 0 && H5Aread(attribute.id, memory_type.id, buffer.data()) < 0) {
      h5_fail(origin, path, "cannot read the attribute");
    }
    const bool space_padded = H5Tget_strpad(file_type.id) == H5T_STR_SPACEPAD;
    for (size_t i = 0; i < n; ++i) {
      const char* begin = buffer.data() + i * size;
      size_t length = std::find(begin, begin + size, '\0') - begin;  // null-padded or -terminated
      if (space_padded) {
        while (length > 0 && begin[length - 1] == ' ') --length;
      }
      values.emplace_back(begin, length);
    }
  }
  return values;
}

}  // namespace

void H5Group::set_string_attribute(const std::string& name, const std::string& value) {
  const std::string path = attribute_path(path_, name);
  if (!file_->writable) throw IOError(origin() + ": " + path + ": cannot set an attribute, the file is read-only");
  auto lock = h5_lock();
  remove_attribute(*id_, name, origin(), path);
  Id type(H5Tcopy(H5T_C_S1));
  if (type.id < 0 || H5Tset_size(type.id, H5T_VARIABLE) < 0 || H5Tset_cset(type.id, H5T_CSET_UTF8) < 0) {
    h5_fail(origin(), path, "cannot make the string type");
  }
  Id space(H5Screate(H5S_SCALAR));
  Id attribute(H5Acreate2(*id_, name.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT));
  if (attribute.id < 0) h5_fail(origin(), path, "cannot create the attribute");
  const char* text = value.c_str();
  if (H5Awrite(attribute.id, type.id, &text) < 0) h5_fail(origin(), path, "cannot write the attribute");
}

void H5Group::set_string_list_attribute(const std::string& name, const std::vector<std::string>& values) {
  const std::string path = attribute_path(path_, name);
  if (!file_->writable) throw IOError(origin() + ": " + path + ": cannot set an attribute, the file is read-only");
  size_t size = 1;  // HDF5 has no zero-length fixed strings; h5py writes an empty bytes as S1
  for (const std::string& value : values) size = std::max(size, value.size());
  std::vector<char> buffer(values.size() * size, '\0');
  for (size_t i = 0; i < values.size(); ++i) std::memcpy(buffer.data() + i * size, values[i].data(), values[i].size());
  auto lock = h5_lock();
  remove_attribute(*id_, name, origin(), path);
  Id type(H5Tcopy(H5T_C_S1));
  if (type.id < 0 || H5Tset_size(type.id, size) < 0 || H5Tset_strpad(type.id, H5T_STR_NULLPAD) < 0) {
    h5_fail(origin(), path, "cannot make the string type");
  }
  const hsize_t count = values.size();
  Id space(H5Screate_simple(1, &count, nullptr));
  Id attribute(H5Acreate2(*id_, name.c_str(), type.id, space.id, H5P_DEFAULT, H5P_DEFAULT));
  if (attribute.id < 0) h5_fail(origin(), path, "cannot create the attribute (over 64 KiB?)");
  if (count > 0 && H5Awrite(attribute.id, type.id, buffer.data()) < 0) {
    h5_fail(origin(), path, "cannot write the attribute");
  }
}

std::optional<std::string> H5Group::string_attribute(const std::string& name) const {
  auto lock = h5_lock();
  auto values = read_strings(*id_, name, origin(), path_);
  if (!values) return std::nullopt;
  if (values->size() != 1) {
    h5_fail(origin(), attribute_path(path_, name),
            "expected one string, found " + std::to_string(values->size()));
  }
  return std::move(values->front());
}

std::optional<std::vector<std::string>> H5Group::string_list_attribute(const std::string& name) const {
  auto lock = h5_lock();
  return read_strings(*id_, name, origin(), path_);
}

}  // namespace kerosene::io
