#include "common/json_reader.hpp"

namespace batchai {

std::string json_type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "an object";
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::string:
      return "a string";
    case nlohmann::json::value_t::boolean:
      return "a boolean";
    case nlohmann::json::value_t::number_float:
      return "a fractional number";
    default:
      return "a number";
  }
}

namespace {

// A field name as a message shows it: a name nobody asked for may be anything.
std::string shown_key(const std::string& key) {
  constexpr std::size_t kShown = 64;
  std::string out;
  for (char c : key.substr(0, kShown)) {
    const auto u = static_cast<unsigned char>(c);
    out += u < 0x20 || u == 0x7f || u >= 0x80 ? '?' : c;
  }
  return key.size() > kShown ? out + "..." : out;
}

}  // namespace

JsonReader::JsonReader(const nlohmann::json& object, std::string path, Diagnostics& diagnostics)
    : object_(object), path_(std::move(path)), diagnostics_(diagnostics) {}

bool JsonReader::has(const std::string& key) const {
  auto it = object_.find(key);
  return it != object_.end() && !it->is_null();
}

const nlohmann::json* JsonReader::field(const std::string& key, bool required) {
  known_.insert(key);
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    if (required) diagnostics_.error(path_of(key), "is required");
    return nullptr;
  }
  return &*it;
}

std::optional<std::string> JsonReader::checked_string(const std::string& key, bool required,
                                                      std::size_t max_bytes, bool multiline) {
  const auto* v = field(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) {
    diagnostics_.error(path_of(key), "must be a string, not " + json_type_name(*v));
    return std::nullopt;
  }
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    diagnostics_.error(path_of(key), "is " + std::to_string(s.size()) +
                                         " bytes long, more than the limit of " +
                                         std::to_string(max_bytes));
    return std::nullopt;
  }
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const bool line_break = c == '\n' || c == '\r' || c == '\t';
    if ((u < 0x20 || u == 0x7f) && !(multiline && line_break)) {
      diagnostics_.error(path_of(key), multiline
                                           ? "holds a control character (only tabs and line "
                                             "breaks are allowed)"
                                           : "holds a control character (a line break, a tab, "
                                             "...): it must be one line of text");
      return std::nullopt;
    }
  }
  return s;
}

std::optional<std::string> JsonReader::string(const std::string& key, bool required) {
  return checked_string(key, required, kMaxFieldBytes, false);
}

std::optional<std::string> JsonReader::text(const std::string& key, bool required,
                                            std::size_t max_bytes) {
  return checked_string(key, required, max_bytes, true);
}

std::optional<std::string> JsonReader::nonempty_string(const std::string& key, bool required) {
  auto s = string(key, required);
  if (s && s->empty()) {
    diagnostics_.error(path_of(key), "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::string> JsonReader::nonempty_text(const std::string& key, bool required,
                                                     std::size_t max_bytes) {
  auto s = text(key, required, max_bytes);
  if (s && s->empty()) {
    diagnostics_.error(path_of(key), "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<std::int64_t> JsonReader::integer(const std::string& key, std::int64_t min,
                                                std::int64_t max, bool required) {
  const auto* v = field(key, required);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number_integer()) {
    diagnostics_.error(path_of(key), "must be a whole number, not " + json_type_name(*v));
    return std::nullopt;
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    diagnostics_.error(path_of(key), v->dump() + " is out of range: must be from " +
                                         std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  auto n = v->get<std::int64_t>();
  if (n < min || n > max) {
    diagnostics_.error(path_of(key), std::to_string(n) + " is out of range: must be from " +
                                         std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> JsonReader::boolean(const std::string& key) {
  const auto* v = field(key, false);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) {
    diagnostics_.error(path_of(key), "must be true or false, not " + json_type_name(*v));
    return std::nullopt;
  }
  return v->get<bool>();
}

const nlohmann::json* JsonReader::object(const std::string& key, bool required) {
  const auto* v = field(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_object()) {
    diagnostics_.error(path_of(key), "must be an object, not " + json_type_name(*v));
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonReader::array(const std::string& key, bool required) {
  const auto* v = field(key, required);
  if (v == nullptr) return nullptr;
  if (!v->is_array()) {
    diagnostics_.error(path_of(key), "must be an array, not " + json_type_name(*v));
    return nullptr;
  }
  return v;
}

void JsonReader::warn_unknown() {
  for (const auto& [key, value] : object_.items()) {
    if (!known_.count(key) && !value.is_null())
      diagnostics_.warn(path_of(shown_key(key)), "unknown field, ignored");
  }
}

}  // namespace batchai
