// Reads one JSON object field by field, recording type errors with their paths in Diagnostics
// and warning about fields nobody asked for. A null value counts as absent, because the Batch AI
// CLI prints absent fields as null and users copy its output back into job files.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "common/diagnostics.hpp"

namespace batchai {

// The longest string a field may hold: names, paths, URLs, options. PATH_MAX is 4096.
constexpr std::size_t kMaxFieldBytes = 4096;
// The longest text: one argument or environment string as the kernel passes it (MAX_ARG_STRLEN,
// 32 pages, with its NUL). Command lines, arguments, environment values, secrets.
constexpr std::size_t kMaxTextBytes = 32 * 4096 - 1;

class JsonReader {
 public:
  JsonReader(const nlohmann::json& object, std::string path, Diagnostics& diagnostics);

  // Each accessor marks the key as known. `required` reports a missing field as an error.
  // A string: one line (no control characters) of at most kMaxFieldBytes.
  std::optional<std::string> string(const std::string& key, bool required = false);
  // A string that must not be empty (after trimming nothing: whitespace counts as content).
  std::optional<std::string> nonempty_string(const std::string& key, bool required = false);
  // Text: lines (tabs, CR and LF allowed; no other control character) of at most max_bytes.
  std::optional<std::string> text(const std::string& key, bool required = false,
                                  std::size_t max_bytes = kMaxTextBytes);
  std::optional<std::string> nonempty_text(const std::string& key, bool required = false,
                                           std::size_t max_bytes = kMaxTextBytes);
  std::optional<std::int64_t> integer(const std::string& key, std::int64_t min, std::int64_t max,
                                      bool required = false);
  std::optional<bool> boolean(const std::string& key);
  const nlohmann::json* object(const std::string& key, bool required = false);
  const nlohmann::json* array(const std::string& key, bool required = false);
  // Marks a key as known without reading it.
  void accept(const std::string& key) { known_.insert(key); }
  bool has(const std::string& key) const;

  std::string path_of(const std::string& key) const {
    return path_.empty() ? key : path_ + "." + key;
  }
  const std::string& path() const { return path_; }

  // Warns about every field that no accessor asked for.
  void warn_unknown();

 private:
  const nlohmann::json* field(const std::string& key, bool required);
  std::optional<std::string> checked_string(const std::string& key, bool required,
                                            std::size_t max_bytes, bool multiline);

  const nlohmann::json& object_;
  std::string path_;
  Diagnostics& diagnostics_;
  std::set<std::string> known_;
};

// "string", "number", ... for messages.
std::string json_type_name(const nlohmann::json& value);

}  // namespace batchai
