// Problems found in a document, each with the JSON path it concerns. Validation collects all of
// them so a user fixes a document in one round.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace batchai {

struct Diagnostic {
  std::string path;  // e.g. "properties.outputDirectories[1].id"
  std::string message;
};

// A document with a hundred thousand bad fields gets the first kKept of each kind and a count
// of the rest, not a hundred thousand lines.
class Diagnostics {
 public:
  static constexpr std::size_t kKept = 100;

  void error(std::string path, std::string message) {
    if (errors_.size() < kKept) errors_.push_back({std::move(path), std::move(message)});
    ++error_count_;
  }
  void warn(std::string path, std::string message) {
    if (warnings_.size() < kKept) warnings_.push_back({std::move(path), std::move(message)});
    ++warning_count_;
  }
  bool has_errors() const { return error_count_ != 0; }
  // The first kKept of each.
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  // All there were.
  std::size_t error_count() const { return error_count_; }
  std::size_t warning_count() const { return warning_count_; }

  // One "path: message" line per entry, then how many more there were when `total` says so.
  static std::string render(const std::vector<Diagnostic>& list, std::size_t total = 0);

 private:
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
  std::size_t error_count_ = 0;
  std::size_t warning_count_ = 0;
};

}  // namespace batchai
