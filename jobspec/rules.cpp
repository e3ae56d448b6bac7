#include "jobspec/rules.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <regex>

namespace batchai {

std::string quote_value(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xf]) +
             std::string(1, "0123456789abcdef"[c & 0xf]);
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string check_resource_name(const std::string& name) {
  static const std::regex re(R"(^[-A-Za-z0-9_]{1,64}$)");
  if (std::regex_match(name, re)) return "";
  return quote_value(name) + " is not a valid name: use 1-64 letters, digits, '-' or '_'";
}

std::string check_directory_id(const std::string& id) {
  static const std::regex re(R"(^[A-Za-z0-9_]{1,64}$)");
  if (std::regex_match(id, re)) return "";
  return quote_value(id) +
         " is not a valid id: use 1-64 letters, digits or '_' (it becomes part of " +
         "an environment variable name)";
}

std::string check_env_name(const std::string& name) {
  static const std::regex re(R"(^[A-Za-z_][A-Za-z0-9_]{0,254}$)");
  if (std::regex_match(name, re)) return "";
  return quote_value(name) +
         " is not a valid environment variable name: use [A-Za-z_][A-Za-z0-9_]*";
}

std::string check_relative_path(const std::string& path) {
  if (path.empty()) return "must not be empty";
  if (path.front() == '/') return quote_value(path) + " must be relative, not start with '/'";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part.empty()) return quote_value(path) + " has an empty path component";
    if (part == "." || part == "..") {
      return quote_value(path) + " must not contain \"" + part + "\" components";
    }
    start = end + 1;
  }
  return "";
}

std::string check_absolute_path(const std::string& path) {
  if (path.empty() || path.front() != '/') {
    return quote_value(path) + " is not an absolute path";
  }
  if (path.find("/../") != std::string::npos || path.ends_with("/..")) {
    return quote_value(path) + " must not contain \"..\" components";
  }
  return "";
}

bool is_valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::exception&) {
    return false;
  }
}

long long parse_size_bytes(const std::string& text, std::string& reason) {
  static const std::regex re(R"(^([0-9]{1,15})\s*([kKmMgGtT]?)[bB]?$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    reason =
        quote_value(text) + " is not a size: use a number with an optional unit, e.g. \"16gb\"";
    return -1;
  }
  long long n = std::stoll(m[1].str());
  int shift = 0;
  switch (m[2].str().empty() ? 'b' : std::tolower(m[2].str()[0])) {
    case 'k':
      shift = 10;
      break;
    case 'm':
      shift = 20;
      break;
    case 'g':
      shift = 30;
      break;
    case 't':
      shift = 40;
      break;
    default:
      break;
  }
  if (shift > 0 && n > (1LL << (62 - shift))) {
    reason = quote_value(text) + " is too large";
    return -1;
  }
  if (n == 0) {
    reason = "must be larger than zero";
    return -1;
  }
  return n << shift;
}

}  // namespace batchai
