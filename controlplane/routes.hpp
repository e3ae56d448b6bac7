// The routes of docs/protocol.md: the node messages and the user messages.
#pragma once

#include <httplib.h>

#include "controlplane/http_util.hpp"

namespace batchai::cp {

void add_node_routes(httplib::Server& server, const ServerContext& ctx);
void add_user_routes(httplib::Server& server, const ServerContext& ctx);
void add_file_routes(httplib::Server& server, const ServerContext& ctx);
void add_arm_routes(httplib::Server& server, const ServerContext& ctx);
void add_identity_routes(httplib::Server& server, const ServerContext& ctx);

}  // namespace batchai::cp
