// Plain-text tables for the CLI: every column is as wide as its widest
// value, so rows line up whatever the values are (long paths, big numbers).
// `config`, `stats`, `ls`, `verify` and `gc` all print through it.
#pragma once

#include <string>
#include <vector>

namespace mithril::cli {

enum class Align { kLeft, kRight };

class Table {
 public:
  // One alignment per column; `indent` spaces start every row. Columns are
  // separated by `gap` spaces.
  explicit Table(std::vector<Align> columns, std::size_t indent = 0, std::size_t gap = 2);

  // A row of cells; missing trailing cells are empty, extra ones are dropped.
  void add_row(std::vector<std::string> cells);
  // A line of free text (a heading) printed as is, at its place among the
  // rows; it does not widen any column.
  void add_line(std::string text);
  bool empty() const { return m_rows.empty(); }
  // The rows, one per line, without trailing spaces.
  std::string render() const;

 private:
  struct Row {
    std::vector<std::string> cells;
    bool is_line = false;
  };
  std::vector<std::size_t> widths() const;

  std::vector<Align> m_columns;
  std::size_t m_indent;
  std::size_t m_gap;
  std::vector<Row> m_rows;
};

// "label: value" lines with the values aligned (a two-column Table whose
// first column is the label and a colon).
class LabelTable {
 public:
  explicit LabelTable(std::size_t indent = 0) : m_table({Align::kLeft, Align::kLeft}, indent, 1) {}
  void add(const std::string& label, std::string value) { m_table.add_row({label + ":", std::move(value)}); }
  void add_line(std::string text) { m_table.add_line(std::move(text)); }
  std::string render() const { return m_table.render(); }

 private:
  Table m_table;
};

// How many terminal columns `text` takes (UTF-8 code points; no wide-glyph
// handling).
std::size_t display_width(const std::string& text);

}  // namespace mithril::cli
