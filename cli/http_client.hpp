// A small blocking HTTP client for the control plane's user API (libcurl underneath): TLS
// verified against --cacert or the system CAs, the bearer token on every request, no redirects.
#pragma once

#include <curl/curl.h>

#include <map>
#include <string>
#include <vector>

#include "cli/server_url.hpp"
#include "common/result.hpp"

namespace batchai::cli {

struct ClientConfig {
  ServerUrl server;
  std::string cacert;  // CA bundle; empty: the system's CAs
  std::string token;   // bearer token; empty: none
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case

  // The header's value, or an empty string.
  std::string header(const std::string& lower_case_name) const;
};

class HttpClient {
 public:
  explicit HttpClient(ClientConfig config);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends METHOD <server><target> (target starts with '/'), with body as JSON when given and
  // the extra header lines ("Range: bytes=0-99"). An Error is a transport failure (name
  // resolution, connection, TLS, time-out) naming the URL; any HTTP status is a response.
  Result<HttpResponse> send(const std::string& method, const std::string& target,
                            const std::string* body = nullptr,
                            const std::vector<std::string>& extra_headers = {});

  const ClientConfig& config() const { return config_; }

 private:
  ClientConfig config_;
  CURL* curl_;
};

}  // namespace batchai::cli
