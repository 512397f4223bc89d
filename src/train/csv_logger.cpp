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
#include "train/python_format.h"

namespace kerosene::callbacks {
namespace {

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

void CSVLogger::on_train_begin(Logs&) {
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

void CSVLogger::on_epoch_end(int epoch, Logs& logs) {
  if (file_ == nullptr) {
    throw RuntimeError("CSVLogger: on_epoch_end for '" + filename_ + "' before on_train_begin opened it");
  }
  if (!have_keys_) {
    have_keys_ = true;
    // The first epoch fixes the columns: its names, sorted as Python's sorted() does (by code
    // point, which for UTF-8 is byte order).
    for (const auto& entry : logs.entries()) keys_.push_back(entry.first);
    std::sort(keys_.begin(), keys_.end());
    // Keras adds a val_ column for every key when the first epoch has none (validation may come
    // later, with validation_freq): "NA" until it does.
    const bool any_validation =
        std::any_of(keys_.begin(), keys_.end(), [](const std::string& k) { return k.starts_with("val_"); });
    if (!any_validation && !keys_.empty()) {
      const size_t n = keys_.size();
      for (size_t i = 0; i < n; ++i) keys_.push_back("val_" + keys_[i]);
    }
    if (write_header_) {
      std::vector<std::string> header{"epoch"};
      header.insert(header.end(), keys_.begin(), keys_.end());
      write_line(header);
    }
  }
  std::vector<std::string> row{std::to_string(epoch)};
  for (const std::string& key : keys_) {
    const std::optional<double> value = logs.get(key);
    row.push_back(value ? train::python_float_repr(*value) : "NA");
  }
  write_line(row);
}

void CSVLogger::on_train_end(Logs&) { close(); }

}  // namespace kerosene::callbacks
