// The control plane's address: which URLs the CLI accepts and whether plain http is allowed.
#pragma once

#include <string>

#include "common/result.hpp"

namespace batchai::cli {

constexpr const char* kDefaultServer = "http://127.0.0.1:8780";

struct ServerUrl {
  std::string base;  // scheme://host[:port][/path], no trailing slash; request paths follow it
  std::string host;
  bool https = false;
  bool loopback = false;  // localhost, 127.0.0.0/8 or ::1
};

// --server if given, else $BATCHAI_SERVER if set and not empty, else kDefaultServer.
std::string choose_server(const std::string& option_value);

// Accepts http:// and https:// URLs without user info, query or fragment.
Result<ServerUrl> parse_server_url(const std::string& text);

// An absolute URL a server handed out (a nextLink, a downloadUrl) split into its origin
// (scheme://authority) and its target (the path and query, starting with '/').
struct UrlParts {
  std::string origin;
  std::string target;
};
Result<UrlParts> split_url(const std::string& url);

}  // namespace batchai::cli
