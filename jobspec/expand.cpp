#include "jobspec/expand.hpp"

#include <cctype>

namespace batchai {

namespace {

bool name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Reads a reference starting at text[i] == '$'. On success appends its expansion (or, without a
// lookup, the reference itself) to out and returns the index after it.
Result<std::size_t> take_reference(const std::string& text, std::size_t i, const VarLookup* lookup,
                                   std::string& out) {
  std::size_t start = i;
  std::string name;
  if (i + 1 < text.size() && text[i + 1] == '{') {
    std::size_t close = text.find('}', i + 2);
    if (close == std::string::npos) return err("\"${\" without a closing \"}\"");
    name = text.substr(i + 2, close - i - 2);
    if (name.empty() || !name_start(name[0])) {
      return err("\"${" + name + "}\" is not a valid variable reference");
    }
    for (char c : name) {
      if (!name_char(c)) return err("\"${" + name + "}\" is not a valid variable reference");
    }
    i = close + 1;
  } else if (i + 1 < text.size() && name_start(text[i + 1])) {
    std::size_t j = i + 1;
    while (j < text.size() && name_char(text[j])) ++j;
    name = text.substr(i + 1, j - i - 1);
    i = j;
  } else {
    out += '$';
    return i + 1;
  }
  if (lookup == nullptr) {
    out += text.substr(start, i - start);
    return i;
  }
  auto value = (*lookup)(name);
  if (!value) return value.error();
  out += *value;
  return i;
}

Result<std::vector<std::string>> split(const std::string& text, const VarLookup* lookup) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  bool quoted_part = false;  // "" or '' make an (empty) argument; an empty $VAR alone does not
  auto end_word = [&] {
    if (in_word && (!word.empty() || quoted_part)) words.push_back(std::move(word));
    word.clear();
    in_word = false;
    quoted_part = false;
  };
  std::size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      end_word();
      ++i;
      continue;
    }
    in_word = true;
    if (c == '\'' || c == '"') quoted_part = true;
    if (c == '\'') {
      std::size_t close = text.find('\'', i + 1);
      if (close == std::string::npos) return err("unterminated single quote");
      word += text.substr(i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char d = text[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < text.size() &&
            (text[i + 1] == '\\' || text[i + 1] == '"' || text[i + 1] == '$' ||
             text[i + 1] == '`')) {
          word += text[i + 1];
          i += 2;
        } else if (d == '$') {
          auto next = take_reference(text, i, lookup, word);
          if (!next) return next.error();
          i = *next;
        } else {
          word += d;
          ++i;
        }
      }
      if (!closed) return err("unterminated double quote");
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return err("a backslash at the end");
      word += text[i + 1];
      i += 2;
    } else if (c == '$') {
      auto next = take_reference(text, i, lookup, word);
      if (!next) return next.error();
      i = *next;
    } else {
      word += c;
      ++i;
    }
  }
  end_word();
  return words;
}

}  // namespace

Result<std::string> expand_vars(const std::string& text, const VarLookup& lookup) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$') {
      out += text[i++];
      continue;
    }
    auto next = take_reference(text, i, &lookup, out);
    if (!next) return next.error();
    i = *next;
  }
  return out;
}

Result<std::vector<std::string>> split_command_words(const std::string& text) {
  return split(text, nullptr);
}

Result<std::vector<std::string>> expand_command_words(const std::string& text,
                                                      const VarLookup& lookup) {
  return split(text, &lookup);
}

}  // namespace batchai
