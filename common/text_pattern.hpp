// Patterns for text from outside (documents, messages, configuration, helpers' output), matched
// by RE2: in time linear in the text and without recursion, so no input can make a match slow
// or overflow the stack, as std::regex does (it recurses once per character). The patterns are
// the program's own, compiled once; an unmatched group reads as "".
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace batchai {

class TextPattern {
 public:
  explicit TextPattern(std::string_view pattern, bool ignore_case = false);
  ~TextPattern();
  TextPattern(const TextPattern&) = delete;
  TextPattern& operator=(const TextPattern&) = delete;

  // Whether all of text matches; `groups`, when given, receives the capturing groups.
  bool full_match(std::string_view text, std::vector<std::string>* groups = nullptr) const;
  // Whether some part of text matches.
  bool partial_match(std::string_view text, std::vector<std::string>* groups = nullptr) const;

 private:
  bool match(std::string_view text, bool whole, std::vector<std::string>* groups) const;
  std::unique_ptr<re2::RE2> re_;
};

}  // namespace batchai
