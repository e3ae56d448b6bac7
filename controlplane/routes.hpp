// The routes of docs/protocol.md: the node messages, the resource-manager API (the user's), the
// identity endpoint and the file links.
#pragma once

#include <httplib.h>

#include "controlplane/http_util.hpp"
#include "controlplane/job_files.hpp"

namespace batchai::cp {

// Where the job's files are (its cluster's volumes read from the state).
inline JobFilesPlace place_of(const ServerContext& ctx, const JobRecord& job) {
  JobFilesPlace place = ctx.store.read(
      [&](const State& s) { return job_files_place(s, job, ctx.node_root, ctx.storage_accounts); });
  place.file_servers = &ctx.file_servers;
  return place;
}

void add_node_routes(httplib::Server& server, const ServerContext& ctx);
void add_file_link_route(httplib::Server& server, const ServerContext& ctx);
void add_arm_routes(httplib::Server& server, const ServerContext& ctx);
void add_identity_routes(httplib::Server& server, const ServerContext& ctx);

}  // namespace batchai::cp
