// The box-drawn table of Keras 3's model.summary(), which Keras renders with `rich`: the column
// widths rich derives from Keras' line length and positions, cells wrapped at word boundaries.
#pragma once

#include <string>
#include <vector>

namespace kerosene::console {

struct TableColumn {
  std::string header;
  bool right = false;  ///< right-aligned (Keras' "Param #")
};

/// Keras' column widths for `line_length` and `positions` (fractions of the line), as rich
/// lays them out: each column int(p*line_length) minus the previous, plus one space of padding
/// on each side, then shrunk evenly (rich's ratio_reduce, Python's round) to fit the line less
/// its borders. The widths include the padding, not the borders.
std::vector<int> column_widths(int line_length, const std::vector<double>& positions);

/// Renders the table: heavy-ruled header, a light rule between rows.
std::string render_table(const std::vector<TableColumn>& columns, const std::vector<int>& widths,
                         const std::vector<std::vector<std::string>>& rows);

/// The terminal's width as Python's shutil.get_terminal_size() finds it: $COLUMNS when it is
/// a positive number, else the width of the terminal on stdout, else 80.
int terminal_columns();

}  // namespace kerosene::console
