// Plain-text tables in the style of `az ... -o table`: a header, a dashed rule, one row per item.
#pragma once

#include <string>
#include <vector>

namespace batchai::cli {

struct Column {
  std::string title;
  bool right_aligned = false;
};

// Columns padded to their widest cell (counted in UTF-8 code points), two spaces apart, no
// trailing blanks. Cells must already be printable (see output.hpp).
std::string render_table(const std::vector<Column>& columns,
                         const std::vector<std::vector<std::string>>& rows);

}  // namespace batchai::cli
