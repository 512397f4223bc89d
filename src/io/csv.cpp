// kerosene::io::load_csv: numbers from a CSV file, each error naming the line and the column.
#include <algorithm>
#include <charconv>
#include <string_view>

#include "data/gzip.h"
#include "kerosene/io.h"

namespace kerosene::io {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits one line into fields; a field in double quotes may hold the delimiter ("" is a quote).
std::vector<std::string> split(std::string_view line, char delimiter) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"' && trim(fields.back()).empty()) {
      fields.back().clear();
      quoted = true;
    } else if (c == delimiter) {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  for (auto& f : fields) f = std::string(trim(f));
  return fields;
}

}  // namespace

Tensor load_csv(const std::string& path, const CsvOptions& options) {
  const std::vector<uint8_t> bytes = data::read_file_bytes(path);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto fail = [&](size_t line, const std::string& what) -> void {
    throw IOError("CSV file '" + path + "'" + (line > 0 ? ", line " + std::to_string(line) : std::string()) + ": " +
                  what);
  };

  std::vector<std::string> names;
  std::vector<size_t> keep;
  size_t fields_per_line = 0;
  std::vector<float> values;
  int64_t rows = 0;
  size_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (trim(line).empty()) continue;
    std::vector<std::string> fields = split(line, options.delimiter);
    if (fields_per_line == 0) {
      fields_per_line = fields.size();
      if (options.header) names = fields;
      for (size_t i = 0; i < fields.size(); ++i) {
        if (names.empty()) names.push_back("column " + std::to_string(i));
      }
      if (!options.columns.empty()) {
        if (!options.header) fail(0, "columns are chosen by name, but CsvOptions::header is false: choose them by index");
        for (const std::string& want : options.columns) {
          const auto it = std::find(names.begin(), names.end(), want);
          if (it == names.end()) {
            std::string known;
            for (const auto& n : names) known += (known.empty() ? "'" : ", '") + n + "'";
            fail(line_number, "no column named '" + want + "': the header has " + known);
          }
          keep.push_back(static_cast<size_t>(it - names.begin()));
        }
      } else if (!options.column_indices.empty()) {
        for (int index : options.column_indices) {
          if (index < 0 || static_cast<size_t>(index) >= fields.size()) {
            fail(line_number, "column index " + std::to_string(index) + " is out of range: the file has " +
                                  std::to_string(fields.size()) + " columns (0 to " + std::to_string(fields.size() - 1) + ")");
          }
          keep.push_back(static_cast<size_t>(index));
        }
      } else {
        for (size_t i = 0; i < fields.size(); ++i) keep.push_back(i);
      }
      if (options.header) continue;
    }
    if (fields.size() != fields_per_line) {
      fail(line_number, "expected " + std::to_string(fields_per_line) + " fields, as on the first line, found " +
                            std::to_string(fields.size()));
    }
    for (size_t column : keep) {
      const std::string& field = fields[column];
      float value = 0;
      const char* first = field.data();
      const char* last = field.data() + field.size();
      if (!field.empty() && *first == '+') ++first;
      const auto [end_ptr, error] = std::from_chars(first, last, value);
      if (field.empty() || error != std::errc() || end_ptr != last) {
        fail(line_number, "column '" + names[column] + "' (index " + std::to_string(column) +
                              "): expected a number, found " + (field.empty() ? "an empty field" : "'" + field + "'"));
      }
      values.push_back(value);
    }
    ++rows;
  }
  if (fields_per_line == 0) fail(0, "the file holds no lines: expected a header and rows of numbers");
  return Tensor::from_vector(values, Shape({rows, static_cast<int64_t>(keep.size())}));
}

}  // namespace kerosene::io
