// From the global options to a client configuration: which server, which CAs, which token, and
// whether plain http is allowed.
#pragma once

#include <string>

#include "cli/http_client.hpp"
#include "common/result.hpp"

namespace batchai::cli {

struct ConnectionOptions {
  std::string server;  // empty: $BATCHAI_SERVER, else kDefaultServer
  std::string cacert;
  std::string token_file;
  bool insecure_http = false;
};

// Plain http:// only to a loopback address, or anywhere with insecure_http (a warning on stderr
// then). Errors are the user's to fix (exit 2).
Result<ClientConfig> connection_config(const ConnectionOptions& options);

}  // namespace batchai::cli
