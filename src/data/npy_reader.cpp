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
  std::string code;  // the descr without its byte order: "u1", "i2", "f8", ...
  size_t file_size;  // bytes per element in the file
  DType dtype;
};

std::optional<NpyType> npy_type(const std::string& descr) {
  // One-byte types have no byte order: NumPy writes '|', but '<', '>' and '=' mean the same.
  const bool ordered =
      descr.size() == 3 && std::string_view("|<>=").find(descr[0]) != std::string_view::npos;
  const std::string base = ordered ? descr.substr(1) : descr;
  if (base == "u1" || base == "b1") return NpyType{base, 1, DType::uint8};
  if (base == "i1") return NpyType{base, 1, DType::int32};
  // Wider types must be little-endian ('<', or '=' written on a little-endian machine).
  if (descr.size() != 3 || (descr[0] != '<' && descr[0] != '=')) return std::nullopt;
  if (base == "i2" || base == "u2") return NpyType{base, 2, DType::int32};
  if (base == "i4") return NpyType{base, 4, DType::int32};
  if (base == "u4" || base == "i8") return NpyType{base, base == "u4" ? 4u : 8u, DType::int64};
  if (base == "f4") return NpyType{base, 4, DType::float32};
  if (base == "f8") return NpyType{base, 8, DType::float32};
  return std::nullopt;
}

// Element i of the file's data, converted to the dtype's host representation at `dst`.
void convert_element(const NpyType& type, const uint8_t* src, uint8_t* dst) {
  auto store = [dst](auto v) { std::memcpy(dst, &v, sizeof v); };
  if (type.code == "u1" || type.code == "b1") {
    *dst = type.code == "b1" ? (*src != 0) : *src;
  } else if (type.code == "i1") {
    store(static_cast<int32_t>(static_cast<int8_t>(*src)));
  } else if (type.code == "i2") {
    int16_t v;
    std::memcpy(&v, src, 2);
    store(static_cast<int32_t>(v));
  } else if (type.code == "u2") {
    uint16_t v;
    std::memcpy(&v, src, 2);
    store(static_cast<int32_t>(v));
  } else if (type.code == "u4") {
    uint32_t v;
    std::memcpy(&v, src, 4);
    store(static_cast<int64_t>(v));
  } else if (type.code == "f8") {
    double d;
    std::memcpy(&d, src, 8);
    store(static_cast<float>(d));
  } else {  // i4, i8, f4: the same bits
    std::memcpy(dst, src, type.file_size);
  }
}

// Fortran order stores the first index fastest: walk the C-order positions with an odometer
// and take each element from its Fortran-order offset.
std::vector<uint8_t> fortran_to_c(const std::vector<uint8_t>& f, const std::vector<int64_t>& shape, size_t element,
                                  const std::string& what) {
  std::vector<uint8_t> c;
  resize_or_throw(c, f.size(), what);
  const size_t rank = shape.size();
  std::vector<int64_t> f_stride(rank, 1), index(rank, 0);
  for (size_t d = 1; d < rank; ++d) f_stride[d] = f_stride[d - 1] * shape[d - 1];
  const size_t count = element == 0 ? 0 : f.size() / element;
  for (size_t n = 0; n < count; ++n) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d) offset += index[d] * f_stride[d];
    std::memcpy(c.data() + n * element, f.data() + static_cast<size_t>(offset) * element, element);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return c;
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
  const std::optional<NpyType> type = npy_type(*parser.descr);
  if (!type) {
    const bool big = parser.descr->starts_with('>');
    throw IOError(what + " has dtype '" + *parser.descr + "'" +
                  (big ? ", which is big-endian: save it with a.astype(a.dtype.newbyteorder('<'))"
                       : ": expected one of '|u1', '|b1', '|i1', '<i2', '<u2', '<i4', '<u4', '<i8', "
                         "'<f4', '<f8' (other types: convert with a.astype(np.float32) or np.int64)"));
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
  const size_t element = dtype_size(type->dtype);
  resize_or_throw(array.bytes, count * element, what);
  for (size_t i = 0; i < count; ++i) convert_element(*type, src + i * type->file_size, array.bytes.data() + i * element);
  if (*parser.fortran_order && array.shape.size() > 1) {
    array.bytes = fortran_to_c(array.bytes, array.shape, element, what);
  }
  return array;
}

Array read_npy(const std::string& path) {
  return parse_npy(read_file_bytes(path), "'" + path + "'");
}

}  // namespace kerosene::data
