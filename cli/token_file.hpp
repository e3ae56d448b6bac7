// The bearer token for the control plane, read from a file (never from argv or the environment,
// and never printed).
#pragma once

#include <string>

#include "common/result.hpp"

namespace batchai::cli {

// The file's content without surrounding white space; an error if it is empty or holds anything
// but printable ASCII (the token goes into an HTTP header). Error messages never quote the file.
Result<std::string> read_token_file(const std::string& path);

}  // namespace batchai::cli
