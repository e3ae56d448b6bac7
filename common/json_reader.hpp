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

class JsonReader {
 public:
  JsonReader(const nlohmann::json& object, std::string path, Diagnostics& diagnostics);

  // Each accessor marks the key as known. `required` reports a missing field as an error.
  std::optional<std::string> string(const std::string& key, bool required = false);
  // A string that must not be empty (after trimming nothing: whitespace counts as content).
  std::optional<std::string> nonempty_string(const std::string& key, bool required = false);
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

  const nlohmann::json& object_;
  std::string path_;
  Diagnostics& diagnostics_;
  std::set<std::string> known_;
};

// "string", "number", ... for messages.
std::string json_type_name(const nlohmann::json& value);

}  // namespace batchai
