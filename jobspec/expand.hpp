// $VAR and ${VAR} expansion with the job's environment, and splitting of argument strings into
// words as a POSIX shell would, without ever running a shell: the agent builds argv itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

// Returns a variable's value, or an Error saying why it cannot be used (undefined, secret).
using VarLookup = std::function<Result<std::string>(const std::string& name)>;

// Expands $NAME and ${NAME}. A '$' followed by neither a name nor '{' is kept as it is.
Result<std::string> expand_vars(const std::string& text, const VarLookup& lookup);

// Splits text into words: blanks separate words; '...' quotes literally; "..." quotes with
// backslash escapes for \ " $ `; a backslash outside quotes escapes the next character.
// Unterminated quotes are errors. No expansion: $ references are kept verbatim.
Result<std::vector<std::string>> split_command_words(const std::string& text);

// Like split_command_words, and expands $ references outside single quotes. An expanded value
// is never split again, so a path with blanks stays one argument.
Result<std::vector<std::string>> expand_command_words(const std::string& text,
                                                      const VarLookup& lookup);

}  // namespace batchai
