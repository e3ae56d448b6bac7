#include "controlplane/server.hpp"

#include <openssl/ssl.h>

#include <spdlog/spdlog.h>
#include <atomic>
#include <nlohmann/json.hpp>

#include "controlplane/routes.hpp"

namespace batchai::cp {

namespace {

// The body of an error httplib answered itself (no route, a malformed or oversized request).
ApiError error_for_status(const httplib::Request& req, int status) {
  switch (status) {
    case 404:
      return not_found("NotFound", "no such resource: " + req.method + " " + req.path);
    case 413:
      return bad_request("RequestTooLarge",
                         "the request body is too large: at most " +
                             std::to_string(protocol::kMaxMessageBytes) +
                             " bytes (send it as Content-Type: application/json)");
    case 400:
      return bad_request("BadRequest", "the request is malformed");
    default:
      return {status, "HttpError", "HTTP status " + std::to_string(status)};
  }
}

// Reaches the listening socket, a protected member of httplib::Server.
struct SocketAccess : httplib::Server {
  static socket_t of(httplib::Server& s) { return (s.*(&SocketAccess::svr_sock_)).load(); }
};

// Requests answered, by kind, for measurements (bench/fleet.py): GET /v1/stats.
struct RequestCounts {
  std::atomic<std::uint64_t> registers{0}, polls{0}, reports{0}, other{0};
};

RequestCounts& request_counts() {
  static RequestCounts counts;
  return counts;
}

void count(const httplib::Request& req) {
  auto& c = request_counts();
  if (req.path.rfind("/v1/nodes/", 0) != 0) {
    ++c.other;
  } else if (req.path.ends_with("/register")) {
    ++c.registers;
  } else if (req.path.ends_with("/desired")) {
    ++c.polls;
  } else if (req.path.ends_with("/state")) {
    ++c.reports;
  } else {
    ++c.other;
  }
}

}  // namespace

void widen_backlog(httplib::Server& server) {
  socket_t fd = SocketAccess::of(server);
  if (fd != INVALID_SOCKET) ::listen(fd, SOMAXCONN);
}

Result<std::unique_ptr<httplib::Server>> make_server(const Options& o) {
  if (o.insecure_http) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(
      o.tls_cert.c_str(), o.tls_key.c_str(), o.client_ca.empty() ? nullptr : o.client_ca.c_str());
  if (!server->is_valid()) {
    return err("cannot set up TLS with " + o.tls_cert + " and " + o.tls_key +
               (o.client_ca.empty() ? "" : " and " + o.client_ca) +
               ": unreadable or mismatched certificate, key or CA file");
  }
  SSL_CTX_set_min_proto_version(server->ssl_context(), TLS1_2_VERSION);
  return std::unique_ptr<httplib::Server>(std::move(server));
}

void configure_server(httplib::Server& server, const ServerContext& ctx) {
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server.set_payload_max_length(protocol::kMaxMessageBytes);
  server.set_read_timeout(30, 0);
  server.set_write_timeout(30, 0);
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        ApiError e = error_for_status(req, res.status);
        if (res.status != 404) spdlog::warn("{} {}: {} {}", req.method, req.path, e.status, e.code);
        send_error(res, e);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr) {
        spdlog::error("{} {}: internal error", req.method, req.path);
        send_error(res, {500, "InternalError", "the control plane failed to answer"});
      });
  server.set_logger([](const httplib::Request& req, const httplib::Response&) { count(req); });
  server.Get("/v1/stats", route(ctx, [](const httplib::Request&, httplib::Response& res) {
               const auto& c = request_counts();
               nlohmann::json j = {{"requests",
                                    {{"register", c.registers.load()},
                                     {"desired", c.polls.load()},
                                     {"state", c.reports.load()},
                                     {"other", c.other.load()}}}};
               res.set_content(j.dump(), "application/json");
             }));
  add_node_routes(server, ctx);
  add_file_link_route(server, ctx);
  add_arm_routes(server, ctx);
  add_identity_routes(server, ctx);
}

}  // namespace batchai::cp
