// What every route shares: the server's context, JSON answers, errors, authentication.
#pragma once

#include <httplib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "controlplane/api_error.hpp"
#include "controlplane/auth.hpp"
#include "controlplane/file_links.hpp"
#include "controlplane/storage_accounts.hpp"
#include "controlplane/store.hpp"
#include "controlplane/volumes.hpp"
#include "protocol/messages.hpp"

namespace batchai::cp {

struct ServerContext {
  Store& store;
  std::string default_cluster;
  std::optional<std::string> node_root;
  protocol::PollSettings poll;
  Credentials credentials;   // who may call what (controlplane/auth.hpp)
  FileServers file_servers;  // what fileServer.id may name (--file-server)
  bool tls = true;           // false under --insecure-http: the URLs handed out say http
  const StorageAccounts* storage_accounts = nullptr;  // Microsoft.Storage (--storage-accounts)
  const FileLinks* file_links = nullptr;              // listOutputFiles' downloadUrls
  std::string public_url;  // --public-url: the start of every link handed out ("" : Host)
};

void send_json(httplib::Response& res, int status, const nlohmann::json& body);
void send_error(httplib::Response& res, const ApiError& error);
// 503 with Retry-After: the state could not be saved.
void send_not_saved(httplib::Response& res);

using RouteFn = std::function<void(const httplib::Request&, httplib::Response&)>;
// Wraps a route: authorization for its caller first (a user route unless said otherwise), an
// exception is a 500, an error answer is logged.
httplib::Server::Handler route(const ServerContext& ctx, Caller caller, RouteFn fn);
inline httplib::Server::Handler route(const ServerContext& ctx, RouteFn fn) {
  return route(ctx, Caller::kUser, std::move(fn));
}

// Whether text, read as JSON, nests arrays and objects at most max_depth deep. Checked before
// any parser sees a body: code that walks a document recursively (the job parser, nlohmann's
// copy and dump) would overflow the stack on a deeply nested one.
bool nesting_within(const std::string& text, int max_depth);
inline constexpr int kMaxBodyNesting = 100;

// A query parameter as a whole number in [min, max]; fallback when absent.
std::optional<std::int64_t> int_param(const httplib::Request& req, const char* name,
                                      std::int64_t fallback, std::int64_t min, std::int64_t max);

}  // namespace batchai::cp
