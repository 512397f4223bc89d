// Your own data in and out: NumPy's .npy and .npz files (what Keras users already have) and CSV.
// Every reader checks sizes before allocating and names the file in its errors; every writer
// writes a temporary file beside the target and renames it, so a crash never leaves half a file.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "kerosene/tensor.h"

namespace kerosene::io {

/// Reads a .npy file (np.save) into a host tensor. dtypes: '|u1' and '|b1' (bool) -> uint8;
/// '|i1', '<i2', '<u2', '<i4' -> int32; '<u4', '<i8' -> int64; '<f4' -> float32; '<f8' ->
/// float32 (rounded). Fortran-ordered arrays are converted to C order.
/// Throws IOError naming the file if it is missing, not a regular file, malformed, big-endian,
/// of another dtype (object arrays included), or its data size differs from its shape's.
Tensor load_npy(const std::string& path);

/// Writes `tensor` (any device) as a .npy file np.load reads: '|u1', '<i4', '<i8' or '<f4'.
/// Throws IOError naming the file if it cannot be written.
void save_npy(const std::string& path, const Tensor& tensor);

/// Reads every array of an .npz archive (np.savez, np.savez_compressed), keyed by name without
/// ".npy", with the dtypes load_npy accepts. Throws IOError as load_npy does, naming the member.
std::map<std::string, Tensor> load_npz(const std::string& path);

/// Writes `arrays` as an .npz archive np.load reads: deflated members when `compressed`
/// (np.savez_compressed), stored ones otherwise (np.savez). Throws IOError naming the file if
/// it cannot be written, or a member exceeds 4 GiB.
void save_npz(const std::string& path, const std::map<std::string, Tensor>& arrays, bool compressed = true);

struct CsvOptions {
  char delimiter = ',';
  /// The first line names the columns (and is not data).
  bool header = true;
  /// Columns to keep, by header name; empty (and `column_indices` empty): every column.
  std::vector<std::string> columns = {};
  /// Columns to keep, by zero-based index; used when `columns` is empty.
  std::vector<int> column_indices = {};
};

/// Reads a CSV file of numbers into a float32 tensor of shape (rows, columns). Fields may be
/// quoted ("1.5"); blank lines are skipped; a trailing '\r' (Windows line ends) is ignored.
/// Throws IOError naming the file, the line and the column for a field that is not a number
/// (an empty field included), a line with another number of fields than the first, a column
/// name not in the header, or an index out of range.
Tensor load_csv(const std::string& path, const CsvOptions& options = {});

}  // namespace kerosene::io
