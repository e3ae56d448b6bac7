#include "cli/local_document.hpp"

#include "common/fs.hpp"
#include "protocol/messages.hpp"

namespace batchai::cli {

using nlohmann::json;

Result<json> read_json_document(const std::string& path) {
  auto text = read_file(path, protocol::kMaxMessageBytes);
  if (!text) return err(text.error().message);
  json doc;
  try {
    doc = json::parse(*text);
  } catch (const json::parse_error& e) {
    return err(path + " is not valid JSON: " + e.what());
  }
  if (!doc.is_object()) return err(path + " must hold a JSON object");
  return doc;
}

json& settings_of(json& document) {
  auto it = document.find("properties");
  if (it != document.end() && it->is_object()) return *it;
  return document;
}

}  // namespace batchai::cli
