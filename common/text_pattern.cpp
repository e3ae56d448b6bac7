#include "common/text_pattern.hpp"

#include <re2/re2.h>

#include <cstdio>
#include <cstdlib>

namespace batchai {

TextPattern::TextPattern(std::string_view pattern, bool ignore_case) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(!ignore_case);
  re_ = std::make_unique<RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!re_->ok()) {  // a pattern of the program's own: a bug, found by any test that uses it
    std::fprintf(stderr, "batchai: bad pattern %s: %s\n", re_->pattern().c_str(),
                 re_->error().c_str());
    std::abort();
  }
}

TextPattern::~TextPattern() = default;

bool TextPattern::match(std::string_view text, bool whole, std::vector<std::string>* groups) const {
  const int n = groups != nullptr ? re_->NumberOfCapturingGroups() : 0;
  std::vector<re2::StringPiece> pieces(static_cast<std::size_t>(n));
  std::vector<RE2::Arg> args(static_cast<std::size_t>(n));
  std::vector<const RE2::Arg*> arg_ptrs(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    args[static_cast<std::size_t>(i)] = &pieces[static_cast<std::size_t>(i)];
    arg_ptrs[static_cast<std::size_t>(i)] = &args[static_cast<std::size_t>(i)];
  }
  const re2::StringPiece input(text.data(), text.size());
  const bool matched = whole ? RE2::FullMatchN(input, *re_, arg_ptrs.data(), n)
                             : RE2::PartialMatchN(input, *re_, arg_ptrs.data(), n);
  if (matched && groups != nullptr) {
    groups->clear();
    for (const auto& p : pieces) groups->emplace_back(p.data() == nullptr ? "" : std::string(p));
  }
  return matched;
}

bool TextPattern::full_match(std::string_view text, std::vector<std::string>* groups) const {
  return match(text, true, groups);
}

bool TextPattern::partial_match(std::string_view text, std::vector<std::string>* groups) const {
  return match(text, false, groups);
}

}  // namespace batchai
