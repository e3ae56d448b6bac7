// Reading a JSON document the user passes with -f (job.json, cluster.json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.hpp"

namespace batchai::cli {

// The file's JSON object; an Error (naming the file, and the place of a syntax error) otherwise.
Result<nlohmann::json> read_json_document(const std::string& path);

// The object a document's settings live in: its "properties" object in the
// {"$schema", "properties": {...}} form, the document itself in the bare form.
nlohmann::json& settings_of(nlohmann::json& document);

}  // namespace batchai::cli
