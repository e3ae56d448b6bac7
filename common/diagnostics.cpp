#include "common/diagnostics.hpp"

namespace batchai {

std::string Diagnostics::render(const std::vector<Diagnostic>& list) {
  std::string out;
  for (const auto& d : list) out += (d.path.empty() ? "" : d.path + ": ") + d.message + "\n";
  return out;
}

}  // namespace batchai
