#include "data/npy_reader.h"

#include <bit>
#include <cctype>
#include <cstring>
#include <limits>
#include <optional>

#include "data/gzip.h"
#include "kerosene/error.h"

namespace kerosene::data {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the .npy reader copies little-endian data as is");

// The header is a Python literal; this parses the subset NumPy writes: a dict whose values
// are strings, True/False and tuples of integers (Python 2 wrote them as 60000L).
class HeaderParser {
 public:
  HeaderParser(std::string_view text, const std::string& what) : text_(text), what_(what) {}

  std::optional<std::string> descr;
  std::optional<bool> fortran_order;
  std::optional<std::vector<int64_t>> shape;

  void parse() {
    expect('{');
    while (!accept('}')) {
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        if (peek() != '\'' && peek() != '"') {
          fail("'descr' is not a dtype string; structured dtypes are not supported");
        }
        descr = string_literal();
      } else if (key == "fortran_order") {
        fortran_order = boolean();
      } else if (key == "shape") {
        shape = tuple();
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    // Quote the header, cut short: a corrupt length can make it megabytes of binary data.
    std::string_view shown = text_.substr(0, 200);
    while (!shown.empty() && std::isspace(static_cast<unsigned char>(shown.back()))) {
      shown.remove_suffix(1);
    }
    throw IOError(what_ + " has a malformed .npy header (" + why + "): " + std::string(shown) +
                  (text_.size() > 200 ? "..." : ""));
  }
  char peek() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  bool accept(char c) {
    if (peek() != c) return false;
    ++pos_;
    return true;
  }
  void expect(char c) {
    if (!accept(c)) fail(std::string("expected '") + c + "' at offset " + std::to_string(pos_));
  }
  std::string string_literal() {
    const char quote = peek();
    if (quote != '\'' && quote != '"') fail("expected a string at offset " + std::to_string(pos_));
    const size_t end = text_.find(quote, ++pos_);
    if (end == std::string_view::npos) fail("unterminated string");
    std::string s(text_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    peek();
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::strlen(word);
        return value;
      }
    }
    fail("expected True or False at offset " + std::to_string(pos_));
  }
  std::vector<int64_t> tuple() {
    expect('(');
    std::vector<int64_t> dims;
    while (!accept(')')) {
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a dimension");
      int64_t d = 0;
      while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
        if (d > (std::numeric_limits<int64_t>::max() - 9) / 10) fail("dimension too large");
        d = d * 10 + (text_[pos_++] - '0');
      }
      if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;
      dims.push_back(d);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }

  std::string_view text_;
  const std::string& what_;
  size_t pos_ = 0;
};

struct NpyType {
  size_t file_size;
  DType dtype;
};

std::optional<NpyType> npy_type(const std::string& descr) {
  // One-byte types have no byte order: NumPy writes '|', but '<', '>' and '=' mean the same.
  const bool ordered =
      descr.size() == 3 && std::string_view("|<>=").find(descr[0]) != std::string_view::npos;
  const std::string base = ordered ? descr.substr(1) : descr;
  if (base == "u1") return NpyType{1, DType::uint8};
  if (base == "i1") return NpyType{1, DType::int32};
  if (descr == "<i4") return NpyType{4, DType::int32};
  if (descr == "<i8") return NpyType{8, DType::int64};
  if (descr == "<f4") return NpyType{4, DType::float32};
  if (descr == "<f8") return NpyType{8, DType::float32};
  return std::nullopt;
}

}  // namespace

Array parse_npy(const std::vector<uint8_t>& bytes, const std::string& what) {
  static constexpr char kMagic[] = "\x93NUMPY";
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kMagic, 6) != 0) {
    throw IOError(what + " is not a .npy array: expected it to start with \"\\x93NUMPY\"" +
                  (bytes.size() < 10 ? ", found only " + std::to_string(bytes.size()) + " bytes"
                                     : ", found other bytes"));
  }
  const int major = bytes[6];
  if (major < 1 || major > 3) {
    throw IOError(what + " has .npy format version " + std::to_string(major) + "." +
                  std::to_string(bytes[7]) + ": expected 1.0, 2.0 or 3.0");
  }
  const size_t length_size = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_size) throw IOError(what + " is truncated inside its .npy header");
  size_t header_size = 0;
  for (size_t i = length_size; i-- > 0;) header_size = header_size << 8 | bytes[8 + i];
  const size_t data_offset = 8 + length_size + header_size;
  if (data_offset > bytes.size()) {
    throw IOError(what + " is truncated: its .npy header needs " + std::to_string(data_offset) +
                  " bytes, found " + std::to_string(bytes.size()));
  }
  HeaderParser parser(
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + 8 + length_size, header_size),
      what);
  parser.parse();
  if (!parser.descr || !parser.fortran_order || !parser.shape) {
    throw IOError(what + " has a .npy header without 'descr', 'fortran_order' and 'shape'");
  }
  if (*parser.fortran_order) {
    throw IOError(what +
                  " is in Fortran order, which is not supported: save it with "
                  "np.ascontiguousarray(a)");
  }
  const std::optional<NpyType> type = npy_type(*parser.descr);
  if (!type) {
    const bool big = parser.descr->starts_with('>');
    throw IOError(what + " has dtype '" + *parser.descr + "'" +
                  (big ? ", which is big-endian: save it with a.astype(a.dtype.newbyteorder('<'))"
                       : ": expected one of '|u1', '|i1', '<i4', '<i8', '<f4', '<f8'"));
  }
  Array array;
  array.shape = *parser.shape;
  array.dtype = type->dtype;
  uint64_t count = 1;
  for (int64_t d : array.shape) {
    if (d != 0 && count > (std::numeric_limits<uint64_t>::max() >> 4) / static_cast<uint64_t>(d)) {
      throw IOError(what + " has a shape whose element count overflows");
    }
    count *= static_cast<uint64_t>(d);
  }
  const uint64_t expected = count * type->file_size, found = bytes.size() - data_offset;
  if (found != expected) {
    throw IOError(what + (found < expected ? " is truncated" : " has trailing data") + ": dtype '" +
                  *parser.descr + "' and its shape need " + std::to_string(expected) +
                  " data bytes, found " + std::to_string(found));
  }
  const uint8_t* src = bytes.data() + data_offset;
  resize_or_throw(array.bytes, count * dtype_size(type->dtype), what);
  if (type->file_size == dtype_size(type->dtype)) {
    if (count > 0) std::memcpy(array.bytes.data(), src, expected);
  } else if (*parser.descr == "<f8") {
    for (size_t i = 0; i < count; ++i) {
      double d;
      std::memcpy(&d, src + 8 * i, 8);
      const float f = static_cast<float>(d);
      std::memcpy(array.bytes.data() + 4 * i, &f, 4);
    }
  } else {  // int8
    for (size_t i = 0; i < count; ++i) {
      const int32_t v = static_cast<int8_t>(src[i]);
      std::memcpy(array.bytes.data() + 4 * i, &v, 4);
    }
  }
  return array;
}

Array read_npy(const std::string& path) {
  return parse_npy(read_file_bytes(path), "'" + path + "'");
}

}  // namespace kerosene::data
