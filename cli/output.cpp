#include "cli/output.hpp"

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

nlohmann::json list_items(const nlohmann::json& answer) {
  nlohmann::json items = answer.is_object() ? field(answer, "value") : answer;
  return items.is_array() ? items : nlohmann::json();
}

std::string cell(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return printable(value.get<std::string>());
  return printable(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace batchai::cli
