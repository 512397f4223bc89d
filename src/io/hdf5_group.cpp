// Groups and datasets of an H5File: links, members, writing and (defensively) reading numeric
// datasets.
#include <hdf5.h>

#include <limits>

#include "io/hdf5_file.h"
#include "io/hdf5_internal.h"
#include "kerosene/error.h"

namespace kerosene::io {

using detail::h5_fail;
using detail::h5_lock;
using detail::Id;

namespace {

// A declared size is believed up to this without looking at what the file stores; above it a
// dataset must store at least 1/1000 of what it declares (zeros compressed by gzip come to
// about 1/1032), or it is refused as a size bomb.
constexpr int64_t kUncheckedBytes = int64_t{1} << 20;
constexpr int64_t kMaxRatio = 1000;

std::string child_path(const std::string& parent, const std::string& name) {
  return parent == "/" ? "/" + name : parent + "/" + name;
}

// A direct member's name: HDF5 would follow "a/b" or "." through the hierarchy.
void check_name(const std::string& origin, const std::string& parent, const std::string& name) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos) {
    std::string what = "expected the name of a direct member, found '";
    what += name;
    what += "'";
    throw IOError(origin + ": " + parent + ": " + what);
  }
}

// What `name` is in group `group`: "nothing", "a soft link", "a group", "a dataset", ...
std::string member_kind(hid_t group, const std::string& name, H5I_type_t* type) {
  *type = H5I_BADID;
  if (H5Lexists(group, name.c_str(), H5P_DEFAULT) <= 0) return "nothing";
  H5L_info_t info{};
  if (H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT) < 0) return "an unreadable link";
  if (info.type == H5L_TYPE_SOFT) return "a soft link (not followed)";
  if (info.type == H5L_TYPE_EXTERNAL) return "an external link (not followed)";
  if (info.type != H5L_TYPE_HARD) return "a user-defined link (not followed)";
  const hid_t object = H5Oopen(group, name.c_str(), H5P_DEFAULT);
  if (object < 0) return "an object HDF5 cannot open";
  *type = H5Iget_type(object);
  H5Oclose(object);
  if (*type == H5I_GROUP) return "a group";
  if (*type == H5I_DATASET) return "a dataset";
  if (*type == H5I_DATATYPE) return "a named datatype";
  return "an object of another kind";
}

hid_t file_type_of(DType dtype) {
  switch (dtype) {
    case DType::float32: return H5T_IEEE_F32LE;
    case DType::int32: return H5T_STD_I32LE;
    case DType::int64: return H5T_STD_I64LE;
    case DType::uint8: return H5T_STD_U8LE;
  }
  return -1;
}

hid_t memory_type_of(DType dtype) {
  switch (dtype) {
    case DType::float32: return H5T_NATIVE_FLOAT;
    case DType::int32: return H5T_NATIVE_INT32;
    case DType::int64: return H5T_NATIVE_INT64;
    case DType::uint8: return H5T_NATIVE_UINT8;
  }
  return -1;
}

// The dataspace's dims; empty for a scalar. Throws for a null dataspace (h5py's Empty).
std::vector<int64_t> dims_of(hid_t space, const std::string& origin, const std::string& path) {
  const H5S_class_t kind = H5Sget_simple_extent_type(space);
  if (kind == H5S_SCALAR) return {};
  if (kind != H5S_SIMPLE) h5_fail(origin, path, "expected a scalar or an array, found a null dataspace");
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0 || rank > H5S_MAX_RANK) h5_fail(origin, path, "cannot read the dataspace's rank");
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  if (H5Sget_simple_extent_dims(space, dims.data(), nullptr) < 0) {
    h5_fail(origin, path, "cannot read the dataspace's dimensions");
  }
  std::vector<int64_t> shape;
  for (hsize_t d : dims) {
    if (d > static_cast<hsize_t>(std::numeric_limits<int64_t>::max())) {
      h5_fail(origin, path, "expected dimensions below 2^63, found " + std::to_string(d));
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

}  // namespace

H5Group::H5Group(std::shared_ptr<detail::H5FileHandle> file, int64_t id, std::string path)
    : file_(std::move(file)),
      id_(new int64_t(id),
          [](int64_t* group) {
            {
              auto lock = h5_lock();
              H5Gclose(*group);
            }
            delete group;
          }),
      path_(std::move(path)) {}

const std::string& H5Group::origin() const { return file_->origin; }

bool H5Group::has(const std::string& name) const {
  check_name(origin(), path_, name);
  auto lock = h5_lock();
  return H5Lexists(*id_, name.c_str(), H5P_DEFAULT) > 0;
}

bool H5Group::has_group(const std::string& name) const {
  check_name(origin(), path_, name);
  auto lock = h5_lock();
  H5I_type_t type;
  member_kind(*id_, name, &type);
  return type == H5I_GROUP;
}

bool H5Group::has_dataset(const std::string& name) const {
  check_name(origin(), path_, name);
  auto lock = h5_lock();
  H5I_type_t type;
  member_kind(*id_, name, &type);
  return type == H5I_DATASET;
}

std::vector<std::string> H5Group::members() const {
  auto lock = h5_lock();
  std::vector<std::string> names;
  hsize_t index = 0;
  const herr_t status = H5Literate(
      *id_, H5_INDEX_NAME, H5_ITER_INC, &index,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->emplace_back(name);
        return 0;
      },
      &names);
  if (status < 0) h5_fail(origin(), path_, "cannot list the group's members");
  return names;
}

H5Group H5Group::group(const std::string& name) const {
  check_name(origin(), path_, name);
  const std::string path = child_path(path_, name);
  auto lock = h5_lock();
  H5I_type_t type;
  const std::string kind = member_kind(*id_, name, &type);
  if (type != H5I_GROUP) h5_fail(origin(), path, "expected a group, found " + kind);
  const hid_t group = H5Gopen2(*id_, name.c_str(), H5P_DEFAULT);
  if (group < 0) h5_fail(origin(), path, "cannot open the group");
  return H5Group(file_, group, path);
}

H5Group H5Group::create_group(const std::string& name) {
  check_name(origin(), path_, name);
  const std::string path = child_path(path_, name);
  if (!file_->writable) throw IOError(origin() + ": " + path + ": cannot create a group, the file is read-only");
  auto lock = h5_lock();
  H5I_type_t type;
  const std::string kind = member_kind(*id_, name, &type);
  if (type == H5I_GROUP) return group(name);
  if (kind != "nothing") h5_fail(origin(), path, "cannot create a group, found " + kind + " there");
  const hid_t group = H5Gcreate2(*id_, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0) h5_fail(origin(), path, "cannot create the group");
  return H5Group(file_, group, path);
}

void H5Group::write_dataset(const std::string& name, const data::Array& array) {
  check_name(origin(), path_, name);
  const std::string path = child_path(path_, name);
  if (!file_->writable) throw IOError(origin() + ": " + path + ": cannot write a dataset, the file is read-only");
  int64_t numel = 1;
  for (int64_t d : array.shape) {
    if (d < 0 || (d > 0 && numel > std::numeric_limits<int64_t>::max() / d)) {
      throw ValueError(origin() + ": " + path + ": invalid shape for a dataset");
    }
    numel *= d;
  }
  const uint64_t expected = static_cast<uint64_t>(numel) * dtype_size(array.dtype);
  if (array.bytes.size() != expected) {
    std::string what = origin() + ": " + path + ": expected ";
    what += std::to_string(expected);
    what += " bytes for the shape and dtype, found ";
    what += std::to_string(array.bytes.size());
    throw ValueError(what);
  }
  auto lock = h5_lock();
  if (H5Lexists(*id_, name.c_str(), H5P_DEFAULT) > 0) h5_fail(origin(), path, "cannot write a dataset, the name exists");
  std::vector<hsize_t> dims(array.shape.begin(), array.shape.end());
  Id space(array.shape.empty() ? H5Screate(H5S_SCALAR)
                               : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  if (space.id < 0) h5_fail(origin(), path, "cannot create the dataspace");
  // Default creation properties: contiguous, no filters.
  Id dataset(H5Dcreate2(*id_, name.c_str(), file_type_of(array.dtype), space.id, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT));
  if (dataset.id < 0) h5_fail(origin(), path, "cannot create the dataset");
  if (numel > 0 &&
      H5Dwrite(dataset.id, memory_type_of(array.dtype), H5S_ALL, H5S_ALL, H5P_DEFAULT, array.bytes.data()) < 0) {
    h5_fail(origin(), path, "cannot write the dataset");
  }
}

std::vector<int64_t> H5Group::dataset_shape(const std::string& name) const {
  check_name(origin(), path_, name);
  const std::string path = child_path(path_, name);
  auto lock = h5_lock();
  H5I_type_t type;
  const std::string kind = member_kind(*id_, name, &type);
  if (type != H5I_DATASET) h5_fail(origin(), path, "expected a dataset, found " + kind);
  Id dataset(H5Dopen2(*id_, name.c_str(), H5P_DEFAULT));
  if (dataset.id < 0) h5_fail(origin(), path, "cannot open the dataset");
  Id space(H5Dget_space(dataset.id));
  if (space.id < 0) h5_fail(origin(), path, "cannot read the dataspace");
  return dims_of(space.id, origin(), path);
}

data::Array H5Group::read_dataset(const std::string& name, const H5Limits& limits) const {
  check_name(origin(), path_, name);
  const std::string path = child_path(path_, name);
  const std::string& from = origin();
  auto lock = h5_lock();
  H5I_type_t type;
  const std::string kind = member_kind(*id_, name, &type);
  if (type != H5I_DATASET) h5_fail(from, path, "expected a dataset, found " + kind);
  Id dataset(H5Dopen2(*id_, name.c_str(), H5P_DEFAULT));
  if (dataset.id < 0) h5_fail(from, path, "cannot open the dataset");

  Id dcpl(H5Dget_create_plist(dataset.id));
  if (dcpl.id < 0) h5_fail(from, path, "cannot read the dataset's creation properties");
  const H5D_layout_t layout = H5Pget_layout(dcpl.id);
  if (layout == H5D_VIRTUAL) h5_fail(from, path, "expected a dataset stored in the file, found a virtual dataset");
  if (H5Pget_external_count(dcpl.id) != 0) {
    h5_fail(from, path, "expected a dataset stored in the file, found one in external files");
  }

  Id file_type(H5Dget_type(dataset.id));
  const H5T_class_t type_class = H5Tget_class(file_type.id);
  data::Array array;
  hid_t memory_type;
  if (type_class == H5T_FLOAT) {
    array.dtype = DType::float32;
    memory_type = H5T_NATIVE_FLOAT;
  } else if (type_class == H5T_INTEGER) {
    array.dtype = DType::int64;
    memory_type = H5T_NATIVE_INT64;
  } else {
    h5_fail(from, path, "expected a dataset of floats or integers, found another element type (strings, compound, enum, ...)");
  }

  Id space(H5Dget_space(dataset.id));
  if (space.id < 0) h5_fail(from, path, "cannot read the dataspace");
  array.shape = dims_of(space.id, from, path);
  int64_t bytes = static_cast<int64_t>(dtype_size(array.dtype));
  for (int64_t d : array.shape) {
    if (__builtin_mul_overflow(bytes, d, &bytes)) {
      h5_fail(from, path, "expected a dataset of at most " + std::to_string(limits.max_dataset_bytes) +
                              " bytes, found one over 2^63 bytes");
    }
  }
  if (bytes > limits.max_dataset_bytes) {
    h5_fail(from, path, "expected a dataset of at most " + std::to_string(limits.max_dataset_bytes) +
                            " bytes, found " + std::to_string(bytes));
  }
  const int64_t stored = static_cast<int64_t>(H5Dget_storage_size(dataset.id));
  if (bytes > kUncheckedBytes && bytes / kMaxRatio > stored) {
    h5_fail(from, path, "expected a dataset storing at least 1/1000 of its " + std::to_string(bytes) +
                            " bytes, found " + std::to_string(stored) + " bytes stored (a size bomb?)");
  }
  if (layout == H5D_CONTIGUOUS && stored > 0) {
    // A truncated file: the data would lie past its end.
    const haddr_t offset = H5Dget_offset(dataset.id);
    hsize_t file_size = 0;
    if (offset != HADDR_UNDEF && H5Fget_filesize(file_->id, &file_size) >= 0 &&
        (offset > file_size || file_size - offset < static_cast<hsize_t>(stored))) {
      h5_fail(from, path, "expected the data within the file's " + std::to_string(file_size) + " bytes, found it at " +
                              std::to_string(offset) + "+" + std::to_string(stored) + " (truncated?)");
    }
  }
  array.bytes.resize(static_cast<size_t>(bytes));
  if (bytes > 0 && H5Dread(dataset.id, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, array.bytes.data()) < 0) {
    h5_fail(from, path, "cannot read the dataset's data (corrupt or truncated file?)");
  }
  return array;
}

}  // namespace kerosene::io
