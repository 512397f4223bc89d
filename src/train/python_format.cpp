// Python's str.format for the filepath templates of ModelCheckpoint, and Python's float repr.
#include "train/python_format.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "kerosene/error.h"

namespace kerosene::train {

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

namespace {

struct Spec {
  char fill = ' ';
  char align = 0;  // '<', '>', '^', '=' or 0 (numbers: right)
  char sign = '-';
  int width = 0;
  int precision = -1;
  char type = 0;
};

[[noreturn]] void bad_spec(const std::string& spec, const std::string& why) {
  std::string message = "format spec \"";
  message.append(spec).append("\": ").append(why);
  throw ValueError(message);
}

Spec parse_spec(const std::string& s) {
  Spec spec;
  size_t i = 0;
  auto is_align = [](char c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) {
    spec.fill = s[0];
    spec.align = s[1];
    i = 2;
  } else if (!s.empty() && is_align(s[0])) {
    spec.align = s[0];
    i = 1;
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-' || s[i] == ' ')) spec.sign = s[i++];
  if (i < s.size() && s[i] == '0') {  // Python's '0': zero padding after the sign
    if (!spec.align) {
      spec.fill = '0';
      spec.align = '=';
    }
    ++i;
  }
  auto number = [&](int& out) {
    const size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i - start > 4) bad_spec(s, "expected a width or precision below 10000, found " + s.substr(start, i - start));
    if (i > start) out = std::atoi(s.substr(start, i - start).c_str());
    return i > start;
  };
  number(spec.width);
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!number(spec.precision)) bad_spec(s, "expected digits after '.'");
  }
  if (i < s.size()) spec.type = s[i++];
  if (i != s.size()) bad_spec(s, "expected [[fill]align][sign][0][width][.precision][type], found trailing \"" + s.substr(i - 1) + "\"");
  if (spec.type && std::string("dfFeEgG%").find(spec.type) == std::string::npos) {
    bad_spec(s, std::string("expected a type among d, f, F, e, E, g, G, %; found '") + spec.type + "'");
  }
  return spec;
}

std::string printf_format(double v, char type, int precision) {
  char format[16];
  std::snprintf(format, sizeof format, "%%.%d%c", precision, type);
  char buf[512];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace

std::string format_value(const FormatValue& v, const std::string& spec_text) {
  const Spec spec = parse_spec(spec_text);
  const bool negative = std::signbit(v.value) && !std::isnan(v.value);
  const double magnitude = std::fabs(v.value);
  std::string body;  // without the sign
  switch (spec.type) {
    case 'd':
      if (!v.integral) bad_spec(spec_text, "'d' needs an integer, found the float " + python_float_repr(v.value));
      body = std::to_string(static_cast<long long>(magnitude));
      break;
    case 'f': case 'F': case 'e': case 'E':
      body = printf_format(magnitude, spec.type, spec.precision < 0 ? 6 : spec.precision);
      break;
    case 'g': case 'G':
      body = printf_format(magnitude, spec.type, spec.precision < 0 ? 6 : std::max(spec.precision, 1));
      break;
    case '%':
      body = printf_format(magnitude * 100, 'f', spec.precision < 0 ? 6 : spec.precision) + "%";
      break;
    default:  // str(): ints as ints, floats as repr (or 'g'-like with a precision)
      if (v.integral) {
        body = std::to_string(static_cast<long long>(magnitude));
      } else if (spec.precision >= 0) {
        body = printf_format(magnitude, 'g', std::max(spec.precision, 1));
      } else {
        body = python_float_repr(magnitude);
      }
  }
  std::string sign = negative ? "-" : spec.sign == '+' ? "+" : spec.sign == ' ' ? " " : "";
  const size_t length = sign.size() + body.size();
  const size_t width = static_cast<size_t>(spec.width);
  if (length >= width) return sign + body;
  const size_t pad = width - length;
  switch (spec.align ? spec.align : '>') {
    case '<': return sign + body + std::string(pad, spec.fill);
    case '^': return std::string(pad / 2, spec.fill) + sign + body + std::string(pad - pad / 2, spec.fill);
    case '=': return sign + std::string(pad, spec.fill) + body;
    default: return std::string(pad, spec.fill) + sign + body;
  }
}

std::string python_format(const std::string& pattern, const std::vector<std::pair<std::string, FormatValue>>& fields) {
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '}') {
      if (i + 1 < pattern.size() && pattern[i + 1] == '}') {
        out += '}';
        ++i;
        continue;
      }
      std::string message = "filepath \"";
      message.append(pattern).append("\": single '}' at position ").append(std::to_string(i)).append(", expected '}}'");
      throw ValueError(message);
    }
    if (c != '{') {
      out += c;
      continue;
    }
    if (i + 1 < pattern.size() && pattern[i + 1] == '{') {
      out += '{';
      ++i;
      continue;
    }
    const size_t close = pattern.find('}', i);
    if (close == std::string::npos) {
      std::string message = "filepath \"";
      message.append(pattern).append("\": '{' at position ").append(std::to_string(i)).append(" is never closed");
      throw ValueError(message);
    }
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const size_t colon = field.find(':');
    const std::string name = field.substr(0, colon);
    const std::string spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    const FormatValue* value = nullptr;
    for (const auto& [key, v] : fields) {
      if (key == name) value = &v;
    }
    if (!value) {
      std::string known;
      for (const auto& [key, v] : fields) known.append(known.empty() ? "" : ", ").append(key);
      std::string message = "filepath \"";
      message.append(pattern).append("\": unknown field \"").append(name).append("\"; the known fields are: ").append(known);
      throw ValueError(message);
    }
    try {
      out += format_value(*value, spec);
    } catch (const ValueError& e) {
      std::string message = "filepath \"";
      message.append(pattern).append("\", field \"").append(name).append("\": ").append(e.what());
      throw ValueError(message);
    }
    i = close;
  }
  return out;
}

}  // namespace kerosene::train
