#include "cli/table.hpp"

#include <algorithm>

namespace batchai::cli {
namespace {

std::size_t width(const std::string& s) {
  // Counts the bytes that start a UTF-8 code point (not 10xxxxxx).
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xc0) != 0x80; }));
}

void append_row(std::string& out, const std::vector<std::string>& cells,
                const std::vector<Column>& columns, const std::vector<std::size_t>& widths) {
  std::string line;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string& text = i < cells.size() ? cells[i] : std::string();
    std::string pad(widths[i] - width(text), ' ');
    if (i > 0) line += "  ";
    line += columns[i].right_aligned ? pad + text : text + pad;
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out += line + '\n';
}

}  // namespace

std::string render_table(const std::vector<Column>& columns,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& c : columns) widths.push_back(width(c.title));
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  }
  std::vector<std::string> titles, rules;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    titles.push_back(columns[i].title);
    rules.emplace_back(widths[i], '-');
  }
  std::string out;
  append_row(out, titles, columns, widths);
  append_row(out, rules, columns, widths);
  for (const auto& row : rows) append_row(out, row, columns, widths);
  return out;
}

}  // namespace batchai::cli
