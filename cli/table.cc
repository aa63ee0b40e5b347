#include "table.h"

#include <algorithm>

namespace mithril::cli {

std::size_t display_width(const std::string& text) {
  // Count every byte that does not continue a UTF-8 sequence (10xxxxxx).
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Table::Table(std::vector<Align> columns, std::size_t indent, std::size_t gap)
    : m_columns(std::move(columns)), m_indent(indent), m_gap(gap) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(m_columns.size());
  m_rows.push_back(Row{std::move(cells), false});
}

void Table::add_line(std::string text) { m_rows.push_back(Row{{std::move(text)}, true}); }

std::vector<std::size_t> Table::widths() const {
  std::vector<std::size_t> w(m_columns.size(), 0);
  for (const auto& r : m_rows) {
    if (r.is_line) continue;
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::max(w[i], display_width(r.cells[i]));
  }
  return w;
}

std::string Table::render() const {
  const auto w = widths();
  std::string out;
  for (const auto& r : m_rows) {
    std::string line(r.is_line ? 0 : m_indent, ' ');
    if (r.is_line) {
      line += r.cells.front();
    } else {
      for (std::size_t i = 0; i < w.size(); ++i) {
        const std::string pad(w[i] - display_width(r.cells[i]), ' ');
        if (i > 0) line.append(m_gap, ' ');
        line += m_columns[i] == Align::kRight ? pad + r.cells[i] : r.cells[i] + pad;
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

}  // namespace mithril::cli
