// kerosene::io's .npy and .npz functions: the readers and writers of src/data behind the
// public Tensor API.
#include <cstring>

#include "data/array.h"
#include "data/atomic_file.h"
#include "data/npy_reader.h"
#include "data/npy_writer.h"
#include "data/npz_reader.h"
#include "kerosene/io.h"

namespace kerosene::io {
namespace {

data::Array to_array(const Tensor& tensor) {
  if (!tensor.defined()) throw ValueError("cannot save an undefined tensor");
  const Tensor host = tensor.to(Device());
  data::Array array;
  array.dtype = host.dtype();
  for (int i = 0; i < host.shape().rank(); ++i) array.shape.push_back(host.dim(i));
  array.bytes.resize(host.nbytes());
  if (host.nbytes() > 0) std::memcpy(array.bytes.data(), host.raw_data(), host.nbytes());
  return array;
}

}  // namespace

Tensor load_npy(const std::string& path) { return data::to_tensor(data::read_npy(path)); }

void save_npy(const std::string& path, const Tensor& tensor) {
  data::write_file_atomically(path, data::npy_bytes(to_array(tensor)));
}

std::map<std::string, Tensor> load_npz(const std::string& path) {
  std::map<std::string, Tensor> tensors;
  for (auto& [name, array] : data::read_npz(path)) tensors.emplace(name, data::to_tensor(std::move(array)));
  return tensors;
}

void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compressed) {
  std::map<std::string, data::Array> converted;
  for (const auto& [name, tensor] : arrays) converted.emplace(name, to_array(tensor));
  data::write_file_atomically(path, data::npz_bytes(converted, compressed));
}

}  // namespace kerosene::io
