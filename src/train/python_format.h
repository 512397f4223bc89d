// Python's str.format, as far as Keras' ModelCheckpoint filepaths use it
// ("ckpt-{epoch:02d}-{val_loss:.2f}.keras"), and Python's repr of a float (CSVLogger's rows).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace kerosene::train {

/// A value for a format field: integral ones (epoch, batch) print as Python ints.
struct FormatValue {
  double value = 0;
  bool integral = false;
};

/// Python's repr of a float: shortest round-trip digits, positional for exponents -4..15.
std::string python_float_repr(double v);

/// Formats one value with a Python format spec: [[fill]align][sign][0][width][,][.precision][type],
/// type one of d, f, F, e, E, g, G, % or none. Throws ValueError naming the spec otherwise.
std::string format_value(const FormatValue& v, const std::string& spec);

/// `pattern` with each {name} / {name:spec} replaced from `fields` ({{ and }} are literal braces).
/// Throws ValueError naming an unknown field and the known ones, or a malformed pattern.
std::string python_format(const std::string& pattern, const std::vector<std::pair<std::string, FormatValue>>& fields);

}  // namespace kerosene::train
