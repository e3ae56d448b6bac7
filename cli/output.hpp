// Writing what the server sent to a terminal: JSON the way az prints it, text without control
// characters (a server-chosen name must not move the cursor or change the terminal's title).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace batchai::cli {

// 2-space indented JSON with keys sorted (as `az ... -o json`), newline-terminated, on stdout.
void print_json(const nlohmann::json& value);

// s with every control character (other than those in keep) replaced by '?'.
std::string printable(const std::string& s, const std::string& keep = "");

// The member at a dotted path ("executionInfo.exitCode"), or null when any step is missing.
nlohmann::json field(const nlohmann::json& item, const std::string& dotted);

// A resource as az prints it: {"id", "name", "type", ...} with the members of its "properties"
// merged in, and "resourceGroup" taken from its id.
nlohmann::json flatten_resource(const nlohmann::json& resource);

// A JSON value as a table cell: strings as they are, null as "", anything else as JSON.
std::string cell(const nlohmann::json& value);

}  // namespace batchai::cli
