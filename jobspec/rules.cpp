#include "jobspec/rules.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/text_pattern.hpp"

namespace batchai {

std::string quote_value(const std::string& s) {
  // A message shows the start of a long value and its size: a 100 KB field must not make a
  // 100 KB error (the cut falls between UTF-8 characters, so the message stays valid text).
  constexpr std::size_t kShown = 200;
  std::size_t shown = s.size();
  if (shown > kShown) {
    shown = kShown;
    while (shown > 0 && (static_cast<unsigned char>(s[shown]) & 0xC0) == 0x80) --shown;
  }
  std::string out = "\"";
  for (std::size_t i = 0; i < shown; ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += "\\x" + std::string(1, "0123456789abcdef"[(c >> 4) & 0xf]) +
             std::string(1, "0123456789abcdef"[c & 0xf]);
      continue;
    }
    out += c;
  }
  out += "\"";
  if (shown < s.size()) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string check_resource_name(const std::string& name) {
  static const TextPattern re(R"(^[-A-Za-z0-9_]{1,64}$)");
  if (re.full_match(name)) return "";
  return quote_value(name) + " is not a valid name: use 1-64 letters, digits, '-' or '_'";
}

std::string check_directory_id(const std::string& id) {
  static const TextPattern re(R"(^[A-Za-z0-9_]{1,64}$)");
  if (re.full_match(id)) return "";
  return quote_value(id) +
         " is not a valid id: use 1-64 letters, digits or '_' (it becomes part of " +
         "an environment variable name)";
}

std::string check_env_name(const std::string& name) {
  static const TextPattern re(R"(^[A-Za-z_][A-Za-z0-9_]{0,254}$)");
  if (re.full_match(name)) return "";
  return quote_value(name) +
         " is not a valid environment variable name: use [A-Za-z_][A-Za-z0-9_]*";
}

namespace {

bool has_control_character(const std::string& text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool lower_or_digit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

std::string check_relative_path(const std::string& path) {
  if (path.empty()) return "must not be empty";
  if (has_control_character(path)) return quote_value(path) + " holds a control character";
  if (path.size() > 1024) return quote_value(path) + " is longer than 1024 bytes";
  if (path.front() == '/') return quote_value(path) + " must be relative, not start with '/'";
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    std::string part = path.substr(start, end - start);
    if (part.empty()) return quote_value(path) + " has an empty path component";
    if (part.size() > 255) {
      return quote_value(path) + " has a component longer than 255 bytes (NAME_MAX)";
    }
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
  if (has_control_character(path)) return quote_value(path) + " holds a control character";
  if (path.size() > 4095) return quote_value(path) + " is longer than PATH_MAX (4095 bytes)";
  if (path.find("/../") != std::string::npos || path.ends_with("/..")) {
    return quote_value(path) + " must not contain \"..\" components";
  }
  return "";
}

std::string check_storage_account_name(const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 24;
  for (char c : name) ok = ok && lower_or_digit(c);
  if (ok) return "";
  return quote_value(name) +
         " is not a storage account name: use 3-24 lower-case letters and digits";
}

std::string check_share_name(const std::string& name) {
  bool ok = name.size() >= 3 && name.size() <= 63 && lower_or_digit(name.front()) &&
            lower_or_digit(name.back());
  for (std::size_t i = 0; ok && i < name.size(); ++i) {
    ok = lower_or_digit(name[i]) || (name[i] == '-' && name[i + 1] != '-');
  }
  if (ok) return "";
  return quote_value(name) +
         " is not a file share name: use 3-63 lower-case letters, digits and single hyphens, "
         "starting and ending with a letter or digit";
}

std::string check_account_key(const std::string& key) {
  auto base64_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
  };
  std::size_t padding = 0;
  while (padding < 2 && padding < key.size() && key[key.size() - 1 - padding] == '=') ++padding;
  bool ok = key.size() >= 4 && key.size() <= 1024 && key.size() % 4 == 0;
  for (std::size_t i = 0; ok && i < key.size() - padding; ++i) ok = base64_char(key[i]);
  if (ok) return "";
  return "is not an account key: storage account keys are base64 (88 characters for Azure)";
}

std::string check_image_reference(const std::string& image) {
  // distribution/reference's grammar: a domain is taken for one when it has a '.' or a ':' or
  // is "localhost"; RE2 matches it in linear time, and the whole is bounded anyway.
  static const TextPattern reference(
      R"((?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*)"
      R"((?::[0-9]{1,5})?/)?)"
      R"([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
      R"((?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?)"
      R"((?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,128})?)");
  const std::string name = image.substr(0, image.find_first_of(":@", image.rfind('/') + 1));
  if (image.size() <= 512 && name.size() <= 255 && reference.full_match(image)) return "";
  return quote_value(image) +
         " is not an image reference like \"ubuntu:22.04\" or "
         "\"myregistry.azurecr.io/team/image:1.0\"";
}

std::string check_registry_server(const std::string& server) {
  static const TextPattern host(
      R"((?:https?://)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~/-]{0,256})?)");
  if (host.full_match(server)) return "";
  return quote_value(server) +
         " is not a registry server like \"myregistry.azurecr.io\" or \"https://host:5000\"";
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
  static const TextPattern re(R"(^([0-9]{1,15})\s*([kKmMgGtT]?)[bB]?$)");
  std::vector<std::string> m;
  if (!re.full_match(text, &m)) {
    reason =
        quote_value(text) + " is not a size: use a number with an optional unit, e.g. \"16gb\"";
    return -1;
  }
  long long n = std::stoll(m[0]);
  int shift = 0;
  switch (m[1].empty() ? 'b' : std::tolower(m[1][0])) {
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
