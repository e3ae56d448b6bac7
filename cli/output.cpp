#include "cli/output.hpp"

#include <cctype>
#include <cstdio>

namespace batchai::cli {

void print_json(const nlohmann::json& value) {
  std::string text = value.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

std::string printable(const std::string& s, const std::string& keep) {
  std::string out = s;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    bool control = u < 0x20 || u == 0x7f;
    if (control && keep.find(c) == std::string::npos) c = '?';
  }
  return out;
}

nlohmann::json field(const nlohmann::json& item, const std::string& dotted) {
  const nlohmann::json* at = &item;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = dotted.find('.', start);
    std::string key = dotted.substr(start, dot == std::string::npos ? dot : dot - start);
    auto it = at->is_object() ? at->find(key) : at->end();
    if (!at->is_object() || it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) return *at;
    start = dot + 1;
  }
}

namespace {

// The segment after /resourceGroups/ (any case) in a resource id, or "".
std::string group_of(const std::string& id) {
  std::string lower = id;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string marker = "/resourcegroups/";
  const auto at = lower.find(marker);
  if (at == std::string::npos) return "";
  const auto start = at + marker.size();
  return id.substr(start, id.find('/', start) - start);
}

}  // namespace

nlohmann::json flatten_resource(const nlohmann::json& resource) {
  if (!resource.is_object()) return resource;
  nlohmann::json out = nlohmann::json::object();
  auto properties = resource.find("properties");
  if (properties != resource.end() && properties->is_object()) {
    for (const auto& [key, value] : properties->items()) out[key] = value;
  }
  for (const auto& [key, value] : resource.items()) {
    if (key != "properties") out[key] = value;
  }
  auto id = resource.find("id");
  if (id != resource.end() && id->is_string()) {
    const std::string group = group_of(id->get<std::string>());
    if (!group.empty()) out["resourceGroup"] = group;
  }
  return out;
}

std::string cell(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return printable(value.get<std::string>());
  return printable(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace batchai::cli
