// The agent's HTTPS client for the control plane (libcurl): TLS verified against the configured
// CA bundle, a client certificate or a bearer token, response size bounded. One per thread.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/control_plane_channel.hpp"
#include "common/result.hpp"

namespace batchai {

// curl_global_init, once per process, before any thread starts.
void curl_global_init_once();

class HttpClient : public ControlPlaneChannel {
 public:
  // Reads the token file, if any, once.
  static Result<HttpClient> create(const DaemonConfig& config);
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  ~HttpClient() override;

  // method "GET", "POST" or "PUT"; path starts with "/v1/". A transport failure (connection,
  // TLS, timeout, oversized response) is an Error; any HTTP status is a response.
  // A flag that, once true, aborts the request under way (the agent is stopping).
  void set_abort_flag(const std::atomic<bool>* flag);

  Result<HttpResponse> request(const std::string& method, const std::string& path,
                               const std::string& body, int timeout_seconds) override;

 private:
  struct Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace batchai
