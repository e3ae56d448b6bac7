#include "controlplane/blob_list_xml.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <optional>
#include <vector>

namespace batchai::cp {

namespace {

constexpr std::size_t kMaxDepth = 16;
constexpr std::size_t kMaxEntries = 5000;
constexpr std::size_t kMaxFieldBytes = 16384;  // raw, entities included
constexpr std::size_t kMaxTagName = 64;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == ':';
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A character XML 1.0 allows.
bool is_xml_char(std::uint32_t cp) {
  if (cp < 0x20) return cp == '\t' || cp == '\n' || cp == '\r';
  if (cp >= 0xD800 && cp <= 0xDFFF) return false;
  return cp != 0xFFFE && cp != 0xFFFF && cp <= 0x10FFFF;
}

// The code point of the UTF-8 sequence at text[i] (advancing i), or none when it is not one.
std::optional<std::uint32_t> next_utf8(std::string_view text, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  std::size_t n = b0 < 0x80           ? 1
                  : (b0 >> 5) == 0x6  ? 2
                  : (b0 >> 4) == 0xE  ? 3
                  : (b0 >> 3) == 0x1E ? 4
                                      : 0;
  if (n == 0 || i + n > text.size()) return std::nullopt;
  std::uint32_t cp = n == 1 ? b0 : b0 & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr std::array<std::uint32_t, 5> kMin = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n]) return std::nullopt;  // an overlong form
  i += n;
  return cp;
}

Result<std::uint32_t> char_reference(std::string_view ref) {
  const bool hex = ref.starts_with("#x");
  const std::string_view digits = ref.substr(hex ? 2 : 1);
  std::uint32_t cp = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      !is_xml_char(cp)) {
    return err("a character reference &" + std::string(ref) + "; is not an XML character");
  }
  return cp;
}

Result<std::uint32_t> entity(std::string_view ref) {
  static constexpr std::array<std::pair<std::string_view, char>, 5> kNamed = {
      {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}}};
  for (const auto& [name, c] : kNamed) {
    if (ref == name) return static_cast<std::uint32_t>(c);
  }
  if (ref.starts_with('#')) return char_reference(ref);
  return err("an unknown entity &" + std::string(ref).substr(0, 16) + ";");
}

std::string_view root_tag() {
  return "EnumerationResults";
}

// The elements whose text is taken: they hold text only.
bool is_field(std::string_view tag) {
  return tag == "Name" || tag == "NextMarker" || tag == "Content-Length" || tag == "Last-Modified";
}

class Scanner {
 public:
  explicit Scanner(std::string_view xml) : s_(xml) {}
  Result<BlobListPage> run();

 private:
  Status prolog();
  Status text();
  Status open_tag();
  Status close_tag();
  Result<std::string_view> tag_name();
  Result<bool> attributes(bool& encoded);
  Status on_open();
  Status on_close();
  Status on_field(std::string_view leaf);
  Status end_blob();
  Status end_prefix();
  Result<std::string> field_text() const;
  bool at(std::initializer_list<std::string_view> path) const;

  std::string_view s_;
  std::size_t pos_ = 0;
  std::vector<std::string_view> path_;
  std::string text_;  // the character data of the innermost open element
  bool root_seen_ = false;
  bool encoded_ = false;  // the innermost element says Encoded="true"
  BlobListPage page_;
  BlobItem blob_;
  std::string prefix_;
  bool skip_ = false;
  unsigned fields_ = 0;  // bits: 1 name, 2 size, 4 last modified
};

bool Scanner::at(std::initializer_list<std::string_view> path) const {
  if (path.size() != path_.size()) return false;
  std::size_t i = 0;
  for (std::string_view p : path) {
    if (path_[i++] != p) return false;
  }
  return true;
}

Status Scanner::prolog() {
  if (s_.starts_with("\xEF\xBB\xBF")) pos_ = 3;
  if (s_.substr(pos_).starts_with("<?xml")) {
    const auto end = s_.find("?>", pos_);
    if (end == std::string_view::npos) return err("the XML declaration does not end");
    pos_ = end + 2;
  }
  return ok();
}

Status Scanner::text() {
  const auto end = std::min(s_.find('<', pos_), s_.size());
  const std::string_view t = s_.substr(pos_, end - pos_);
  pos_ = end;
  if (path_.empty()) {
    for (char c : t) {
      if (!is_space(c)) return err("text outside the document's element");
    }
    return ok();
  }
  if (text_.size() + t.size() > kMaxFieldBytes) {
    text_.clear();  // only the fields taken are bounded; a long text elsewhere is skipped
    if (is_field(path_.back())) {
      return err("the element " + std::string(path_.back()) + " is over 16 KiB");
    }
    return ok();
  }
  text_.append(t);
  return ok();
}

Result<std::string_view> Scanner::tag_name() {
  const std::size_t start = pos_;
  while (pos_ < s_.size() && is_name_char(s_[pos_]) && pos_ - start <= kMaxTagName) ++pos_;
  if (pos_ == start || pos_ - start > kMaxTagName) return err("a tag without a proper name");
  return s_.substr(start, pos_ - start);
}

// The attributes up to '>' or "/>"; true when the element closes itself.
Result<bool> Scanner::attributes(bool& encoded) {
  encoded = false;
  for (;;) {
    while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
    if (pos_ >= s_.size()) return err("a tag does not end");
    if (s_[pos_] == '>') {
      ++pos_;
      return false;
    }
    if (s_.substr(pos_).starts_with("/>")) {
      pos_ += 2;
      return true;
    }
    auto name = tag_name();
    if (!name) return err("an attribute without a proper name");
    if (pos_ + 1 >= s_.size() || s_[pos_] != '=' || (s_[pos_ + 1] != '"' && s_[pos_ + 1] != '\'')) {
      return err("an attribute without a quoted value");
    }
    const char quote = s_[pos_ + 1];
    const auto end = s_.find_first_of(std::string{quote, '<'}, pos_ + 2);
    if (end == std::string_view::npos || s_[end] != quote) return err("an attribute does not end");
    encoded = encoded || (*name == "Encoded" && s_.substr(pos_ + 2, end - pos_ - 2) == "true");
    pos_ = end + 1;
  }
}

Status Scanner::open_tag() {
  ++pos_;  // '<'
  if (pos_ < s_.size() && (s_[pos_] == '!' || s_[pos_] == '?')) {
    return err("a DOCTYPE, comment, CDATA section or processing instruction");
  }
  auto name = tag_name();
  if (!name) return name.error();
  auto self_closing = attributes(encoded_);
  if (!self_closing) return self_closing.error();
  if (path_.empty()) {
    if (root_seen_ || *name != root_tag()) return err("the document is not one EnumerationResults");
    root_seen_ = true;
  }
  if (path_.size() >= kMaxDepth) return err("elements nested over 16 deep");
  if (!path_.empty() && is_field(path_.back())) {
    return err("an element inside " + std::string(path_.back()));
  }
  path_.push_back(*name);
  text_.clear();
  if (auto s = on_open(); !s) return s;
  if (*self_closing) return close_tag();
  return ok();
}

Status Scanner::close_tag() {
  if (auto s = on_close(); !s) return s;
  path_.pop_back();
  text_.clear();
  return ok();
}

Status Scanner::on_open() {
  if (at({root_tag(), "Blobs", "Blob"})) {
    blob_ = BlobItem{};
    fields_ = 0;
    skip_ = false;
  } else if (at({root_tag(), "Blobs", "BlobPrefix"})) {
    prefix_.clear();
    fields_ = 0;
    skip_ = false;
  } else if (path_.back() == "Name" && encoded_) {
    skip_ = true;  // a name the service percent-encoded: no name a job's files have
  }
  return ok();
}

Result<std::string> Scanner::field_text() const {
  return decode_xml_text(text_);
}

Status Scanner::on_field(std::string_view leaf) {
  const unsigned bit = leaf == "Name" ? 1 : leaf == "Content-Length" ? 2 : 4;
  if (fields_ & bit) return err("a blob with two " + std::string(leaf) + " elements");
  fields_ |= bit;
  auto value = field_text();
  if (!value) return value.error();
  if (bit == 1) {
    blob_.name = std::move(*value);
    prefix_ = blob_.name;
    return ok();
  }
  if (bit == 2) {
    auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), blob_.size);
    if (value->empty() || ec != std::errc() || end != value->data() + value->size() ||
        blob_.size < 0) {
      return err("a blob's Content-Length is not a whole number of bytes");
    }
    return ok();
  }
  auto ms = parse_rfc1123_ms(*value);
  if (!ms) return ms.error();
  blob_.last_modified_ms = *ms;
  return ok();
}

Status Scanner::end_blob() {
  if (fields_ != 7) return err("a blob without its Name, Content-Length or Last-Modified");
  if (page_.blobs.size() + page_.prefixes.size() >= kMaxEntries) return err("over 5000 entries");
  if (!skip_) page_.blobs.push_back(std::move(blob_));
  return ok();
}

Status Scanner::end_prefix() {
  if (fields_ != 1) return err("a BlobPrefix without its Name");
  if (page_.blobs.size() + page_.prefixes.size() >= kMaxEntries) return err("over 5000 entries");
  if (!skip_) page_.prefixes.push_back(std::move(prefix_));
  return ok();
}

Status Scanner::on_close() {
  if (at({root_tag(), "Blobs", "Blob", "Name"}) ||
      at({root_tag(), "Blobs", "Blob", "Properties", "Content-Length"}) ||
      at({root_tag(), "Blobs", "Blob", "Properties", "Last-Modified"})) {
    return on_field(path_.back());
  }
  if (at({root_tag(), "Blobs", "BlobPrefix", "Name"})) return on_field("Name");
  if (at({root_tag(), "Blobs", "Blob"})) return end_blob();
  if (at({root_tag(), "Blobs", "BlobPrefix"})) return end_prefix();
  if (at({root_tag(), "NextMarker"})) {
    auto value = field_text();
    if (!value) return value.error();
    page_.next_marker = std::move(*value);
  }
  return ok();
}

Result<BlobListPage> Scanner::run() {
  if (s_.size() > kMaxBlobListBytes) return err("the answer is over 8 MiB");
  if (auto s = prolog(); !s) return s.error();
  while (pos_ < s_.size()) {
    Status step = ok();
    if (s_[pos_] != '<') {
      step = text();
    } else if (s_.substr(pos_).starts_with("</")) {
      pos_ += 2;
      auto name = tag_name();
      while (pos_ < s_.size() && is_space(s_[pos_])) ++pos_;
      if (!name || pos_ >= s_.size() || s_[pos_] != '>') return err("a closing tag is broken");
      ++pos_;
      if (path_.empty() || path_.back() != *name) return err("a closing tag does not match");
      step = close_tag();
    } else {
      step = open_tag();
    }
    if (!step) return step.error();
  }
  if (!root_seen_ || !path_.empty()) return err("the document ends early");
  return std::move(page_);
}

}  // namespace

Result<BlobListPage> parse_blob_list(std::string_view xml) {
  return Scanner(xml).run();
}

Result<std::string> decode_xml_text(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '<') return err("a raw '<' in text");
    if (text[i] != '&') {
      auto cp = next_utf8(text, i);
      if (!cp || !is_xml_char(*cp)) return err("text that is not UTF-8 XML characters");
      append_utf8(out, *cp);
      continue;
    }
    const auto semi = text.find(';', i);
    if (semi == std::string_view::npos || semi - i > 12) return err("a raw '&' in text");
    auto cp = entity(text.substr(i + 1, semi - i - 1));
    if (!cp) return cp.error();
    append_utf8(out, *cp);
    i = semi + 1;
  }
  return out;
}

Result<std::int64_t> parse_rfc1123_ms(std::string_view t) {
  static constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                            "Thu", "Fri", "Sat"};
  static constexpr std::array<std::string_view, 12> kMonths = {
      "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const Status bad = err("a date that is not RFC 1123 (\"Sun, 06 Nov 1994 08:49:37 GMT\")");
  // "Sun, 06 Nov 1994 08:49:37 GMT": fixed width.
  if (t.size() != 29 || t.substr(3, 2) != ", " || t[7] != ' ' || t[11] != ' ' || t[16] != ' ' ||
      t[19] != ':' || t[22] != ':' || t.substr(25) != " GMT") {
    return bad.error();
  }
  auto number = [&](std::size_t at, std::size_t n, int& v) {
    auto [end, ec] = std::from_chars(t.data() + at, t.data() + at + n, v);
    return ec == std::errc() && end == t.data() + at + n && t[at] != '-' && t[at] != '+';
  };
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  std::size_t month = 0;
  while (month < 12 && kMonths[month] != t.substr(8, 3)) ++month;
  bool weekday = false;
  for (auto d : kDays) weekday = weekday || d == t.substr(0, 3);
  if (!weekday || month == 12 || !number(5, 2, day) || !number(12, 4, year) ||
      !number(17, 2, hour) || !number(20, 2, minute) || !number(23, 2, second) || day < 1 ||
      day > 31 || hour > 23 || minute > 59 || second > 60 || year < 1970) {
    return bad.error();
  }
  // Days since the epoch of a civil date (Howard Hinnant's days_from_civil).
  const int y = year - (month < 2 ? 1 : 0);
  const int era = y / 400;
  const int yoe = y - era * 400;
  const int m = static_cast<int>(month) + 1;
  const int doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  return ((days * 24 + hour) * 60 + minute) * 60000 + static_cast<std::int64_t>(second) * 1000;
}

}  // namespace batchai::cp
