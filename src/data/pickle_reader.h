// Reader for the Python pickles of CIFAR-10 and CIFAR-100's "python version": each file is one
// dict written by Python 2's cPickle (protocol 2) with str keys, a numpy uint8 array under
// "data" (pickled as numpy.core.multiarray._reconstruct plus ndarray.__setstate__ with the raw
// bytes as one string), lists of ints for the labels, and strings. Only the opcodes such a file
// holds are accepted; the three numpy globals are recognised by name and nothing is ever called.
// Every length is checked against the bytes left before it is used, and the number of objects is
// capped, so a hostile file costs at most a bounded multiple of its own size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kerosene::data {

/// A numpy uint8 array of the pickle: its shape and a view of its bytes inside the pickle.
struct PickledArray {
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t size = 0;
};

/// What kerosene takes from a pickled CIFAR batch; other values (strings, lists of strings)
/// are read and left out.
struct PickledBatch {
  std::map<std::string, PickledArray> arrays;             ///< numpy uint8 arrays, by key
  std::map<std::string, std::vector<int64_t>> int_lists;  ///< lists of ints, by key
};

/// Reads the pickled dict in `data`; the arrays are views into `data`. `what` names the data in
/// errors ("'/data/cifar-10-batches-py/data_batch_1'"). Throws IOError naming `what`, the offset
/// and the opcode for an opcode or global outside that subset, a protocol other than 2, a
/// length past the end, a truncated pickle, a malformed array (dtype other than uint8, Fortran
/// order, data of another size than its shape), too many objects, or bytes after STOP.
PickledBatch read_cifar_pickle(const uint8_t* data, size_t size, const std::string& what);

}  // namespace kerosene::data
