#include "train/summary_table.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cfenv>
#include <cmath>
#include <cstdlib>

#include "core/environment.h"

namespace kerosene::console {
namespace {

std::string repeat(const char* piece, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += piece;
  return out;
}

// Python's round(): halves go to the even neighbour (nearbyint in the default rounding mode).
int python_round(double x) { return static_cast<int>(std::nearbyint(x)); }

// rich's ratio_reduce with equal ratios: takes `excess` off the columns, as evenly as rounding lets.
std::vector<int> reduce_evenly(int excess, std::vector<int> widths) {
  int remaining = excess;
  int ratio_left = static_cast<int>(widths.size());
  for (int& width : widths) {
    const int taken = std::min(width, python_round(static_cast<double>(remaining) / ratio_left));
    width -= taken;
    remaining -= taken;
    ratio_left -= 1;
  }
  return widths;
}

// Greedy word wrap, as rich wraps a cell: words joined by one space; a word longer than the
// cell is cut into pieces of the cell's width.
std::vector<std::string> wrap(const std::string& text, size_t width) {
  std::vector<std::string> lines;
  std::string line;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(start, end - start);
    start = end + 1;
    if (word.empty()) continue;
    if (!line.empty() && line.size() + 1 + word.size() <= width) {
      line += " " + word;
      continue;
    }
    if (!line.empty()) lines.push_back(line);
    while (word.size() > width) {
      lines.push_back(word.substr(0, width));
      word = word.substr(width);
    }
    line = word;
  }
  if (!line.empty() || lines.empty()) lines.push_back(line);
  return lines;
}

std::string rule(const std::vector<int>& widths, const char* left, const char* fill, const char* cross,
                 const char* right) {
  std::string line = left;
  for (size_t i = 0; i < widths.size(); ++i) line += repeat(fill, widths[i]) + (i + 1 < widths.size() ? cross : right);
  return line + "\n";
}

std::string cells(const std::vector<TableColumn>& columns, const std::vector<int>& widths,
                  const std::vector<std::string>& texts, const char* bar) {
  std::vector<std::vector<std::string>> wrapped;
  size_t height = 1;
  for (size_t i = 0; i < texts.size(); ++i) {
    wrapped.push_back(wrap(texts[i], static_cast<size_t>(widths[i] - 2)));
    height = std::max(height, wrapped.back().size());
  }
  std::string out;
  for (size_t row = 0; row < height; ++row) {
    out += bar;
    for (size_t i = 0; i < texts.size(); ++i) {
      const std::string text = row < wrapped[i].size() ? wrapped[i][row] : "";
      const std::string pad(static_cast<size_t>(widths[i] - 2) - text.size(), ' ');
      out += " " + (columns[i].right ? pad + text : text + pad) + " " + bar;
    }
    out += "\n";
  }
  return out;
}

}  // namespace

std::vector<int> column_widths(int line_length, const std::vector<double>& positions) {
  std::vector<int> widths;
  int current = 0, total = 0;
  for (double position : positions) {
    const int width = static_cast<int>(position * line_length) - current;
    current += width;
    widths.push_back(width + 2);  // rich adds the padding to a column's fixed width
    total += width + 2;
  }
  const int borders = static_cast<int>(positions.size()) + 1;
  const int available = line_length - borders;
  return total > available ? reduce_evenly(total - available, widths) : widths;
}

std::string render_table(const std::vector<TableColumn>& columns, const std::vector<int>& widths,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.push_back(c.header);
  std::string out = rule(widths, "┏", "━", "┳", "┓");
  out += cells(columns, widths, headers, "┃");
  out += rule(widths, "┡", "━", "╇", "┩");
  for (size_t r = 0; r < rows.size(); ++r) {
    if (r > 0) out += rule(widths, "├", "─", "┼", "┤");
    out += cells(columns, widths, rows[r], "│");
  }
  out += rule(widths, "└", "─", "┴", "┘");
  return out;
}

int terminal_columns() {
  const std::string env = env_string("COLUMNS");
  if (!env.empty()) {
    char* end = nullptr;
    const long columns = std::strtol(env.c_str(), &end, 10);
    if (*end == '\0' && columns > 0) return static_cast<int>(columns);
  }
  winsize size{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace kerosene::console
