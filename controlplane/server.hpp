// The HTTP(S) server: httplib's Server or SSLServer (TLS 1.2 or newer, mutual TLS with
// --client-ca), a pool of worker threads (a long-poll holds one for up to pollWaitSeconds), a
// body size limit, JSON error bodies for everything httplib itself refuses.
#pragma once

#include <httplib.h>

#include <memory>

#include "common/result.hpp"
#include "controlplane/http_util.hpp"
#include "controlplane/options.hpp"

namespace batchai::cp {

// At most this many requests are served at once (long-polls included); more wait in a queue.
inline constexpr std::size_t kWorkerThreads = 256;

Result<std::unique_ptr<httplib::Server>> make_server(const Options& options);

// Debian's compiled httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG), so a burst
// of nodes connecting at once gets resets. Call after bind: listens again with a larger one.
void widen_backlog(httplib::Server& server);

// Routes, limits and error handling; ctx must outlive the server.
void configure_server(httplib::Server& server, const ServerContext& ctx);

}  // namespace batchai::cp
