#include "common/diagnostics.hpp"

namespace batchai {

std::string Diagnostics::render(const std::vector<Diagnostic>& list, std::size_t total) {
  std::string out;
  for (const auto& d : list) out += (d.path.empty() ? "" : d.path + ": ") + d.message + "\n";
  if (total > list.size()) out += "... and " + std::to_string(total - list.size()) + " more\n";
  return out;
}

}  // namespace batchai
