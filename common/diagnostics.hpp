// Problems found in a document, each with the JSON path it concerns. Validation collects all of
// them so a user fixes a document in one round.
#pragma once

#include <string>
#include <vector>

namespace batchai {

struct Diagnostic {
  std::string path;  // e.g. "properties.outputDirectories[1].id"
  std::string message;
};

class Diagnostics {
 public:
  void error(std::string path, std::string message) {
    errors_.push_back({std::move(path), std::move(message)});
  }
  void warn(std::string path, std::string message) {
    warnings_.push_back({std::move(path), std::move(message)});
  }
  bool has_errors() const { return !errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }

  // One "path: message" line per entry.
  static std::string render(const std::vector<Diagnostic>& list);

 private:
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
};

}  // namespace batchai
