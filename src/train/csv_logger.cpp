// callbacks::CSVLogger: Keras 3's CSVLogger (keras/src/callbacks/csv_logger.py), which writes
// through Python's csv.DictWriter with the excel dialect and its separator.
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "kerosene/callbacks.h"
#include "kerosene/error.h"

namespace kerosene::callbacks {
namespace {

// Python's repr of a float, which is what str() of a logs value gives in Keras' rows: the
// shortest digits that round-trip, positional for exponents -4..15 ("0.25", "3.0"), else
// scientific with a sign and at least two exponent digits ("1e-05", "1.5e+16").
std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  const std::string sci(buf, end);  // e.g. "-1.2345e-05"
  const size_t e = sci.find('e');
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < e; ++i) {
    if (sci[i] != '.') digits += sci[i];
  }
  const int exponent = std::stoi(sci.substr(e + 1));
  // Built with append(): GCC 12 warns (-Wrestrict, a false positive) on chained operator+.
  std::string out = negative ? "-" : "";
  const size_t point = static_cast<size_t>(exponent + 1);  // digits before the point, if positional
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) {
      out.append("0.").append(static_cast<size_t>(-exponent - 1), '0').append(digits);
    } else if (point >= digits.size()) {
      out.append(digits).append(point - digits.size(), '0').append(".0");
    } else {
      out.append(digits, 0, point).append(".").append(digits, point);
    }
    return out;
  }
  out.append(digits, 0, 1);
  if (digits.size() > 1) out.append(".").append(digits, 1);
  const int magnitude = std::abs(exponent);
  out.append(exponent < 0 ? "e-" : "e+").append(magnitude < 10 ? "0" : "").append(std::to_string(magnitude));
  return out;
}

// csv.QUOTE_MINIMAL: quoted only when holding the separator, a quote or a line break.
std::string csv_field(const std::string& field, char separator) {
  if (field.find_first_of(std::string{separator, '"', '\r', '\n'}) == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

CSVLogger::CSVLogger(std::string filename, char separator, bool append)
    : filename_(std::move(filename)), separator_(separator), append_(append) {}

CSVLogger::~CSVLogger() { close(); }

void CSVLogger::close() {
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
}

void CSVLogger::on_train_begin(const Logs&) {
  write_header_ = true;
  if (append_) {
    // Keras writes the header only when readline() of the existing file is empty: the file
    // is new or empty (a first line holding just "\n" counts as a header already there).
    if (std::FILE* existing = std::fopen(filename_.c_str(), "rb")) {
      write_header_ = std::fgetc(existing) == EOF;
      std::fclose(existing);
    }
  }
  close();
  file_ = std::fopen(filename_.c_str(), append_ ? "ab" : "wb");
  if (file_ == nullptr) {
    throw IOError("CSVLogger: cannot open '" + filename_ + "' for " + (append_ ? "appending" : "writing") + ": " +
                  std::strerror(errno));
  }
  keys_.clear();
  have_keys_ = false;
}

void CSVLogger::write_line(const std::vector<std::string>& fields) {
  std::string line;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) line += separator_;
    line += csv_field(fields[i], separator_);
  }
  line += "\r\n";  // the excel dialect's line terminator
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    throw IOError("CSVLogger: writing '" + filename_ + "' failed: " + std::strerror(errno));
  }
}

void CSVLogger::on_epoch_end(int epoch, const Logs& logs) {
  if (file_ == nullptr) {
    throw RuntimeError("CSVLogger: on_epoch_end for '" + filename_ + "' before on_train_begin opened it");
  }
  if (!have_keys_) {
    have_keys_ = true;
    // The first epoch fixes the columns: its names, sorted as Python's sorted() does (by code
    // point, which for UTF-8 is byte order).
    for (const auto& entry : logs.entries()) keys_.push_back(entry.first);
    std::sort(keys_.begin(), keys_.end());
    if (write_header_) {
      std::vector<std::string> header{"epoch"};
      header.insert(header.end(), keys_.begin(), keys_.end());
      write_line(header);
    }
  }
  std::vector<std::string> row{std::to_string(epoch)};
  for (const std::string& key : keys_) {
    const std::optional<double> value = logs.get(key);
    row.push_back(value ? python_float_repr(*value) : "NA");
  }
  write_line(row);
}

void CSVLogger::on_train_end(const Logs&) { close(); }

}  // namespace kerosene::callbacks
