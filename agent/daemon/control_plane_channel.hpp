// What the daemon's parts ask of the control plane: one request, one answer. HttpClient
// (agent/daemon/http_client.hpp) is the real one; the unit tests give the parts a fake.
#pragma once

#include <optional>
#include <string>

#include "common/result.hpp"

namespace batchai {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::optional<int> retry_after_seconds;
};

class ControlPlaneChannel {
 public:
  virtual ~ControlPlaneChannel() = default;
  // method "GET", "POST", "PUT" or "DELETE"; path starts with "/v1/". A transport failure
  // (connection, TLS, timeout, oversized response) is an Error; any HTTP status is a response.
  virtual Result<HttpResponse> request(const std::string& method, const std::string& path,
                                       const std::string& body, int timeout_seconds) = 0;
};

}  // namespace batchai
