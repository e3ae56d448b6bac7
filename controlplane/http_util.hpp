// What every route shares: the server's context, JSON answers, errors, authentication.
#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "controlplane/api_error.hpp"
#include "controlplane/store.hpp"
#include "controlplane/volumes.hpp"
#include "protocol/messages.hpp"

namespace batchai::cp {

struct ServerContext {
  Store& store;
  std::string default_cluster;
  std::optional<std::string> node_root;
  protocol::PollSettings poll;
  std::optional<std::string> token;  // every request must carry it when set
  FileServers file_servers;          // what fileServer.id may name (--file-server)
};

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, const ApiError& error);
// 503 with Retry-After: the state could not be saved.
void send_not_saved(httplib::Response& res);

// "Authorization: Bearer <token>", compared in constant time.
bool authorized(const httplib::Request& req, const std::string& token);

using RouteFn = std::function<void(const httplib::Request&, httplib::Response&)>;
// Wraps a route: authentication first, an exception is a 500, an error answer is logged.
httplib::Server::Handler route(const ServerContext& ctx, RouteFn fn);

// Whether text, read as JSON, nests arrays and objects at most max_depth deep. Checked before
// any parser sees a body: code that walks a document recursively (the job parser, nlohmann's
// copy and dump) would overflow the stack on a deeply nested one.
bool nesting_within(const std::string& text, int max_depth);
inline constexpr int kMaxBodyNesting = 100;

// A query parameter as a whole number in [min, max]; fallback when absent.
std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name,
                                      std::int64_t fallback, std::int64_t min, std::int64_t max);

}  // namespace batchai::cp
