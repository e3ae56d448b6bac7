// What every command gets: the client for the control plane and the global options.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/api_paths.hpp"
#include "cli/failure.hpp"
#include "cli/http_client.hpp"

namespace batchai::cli {

struct Context {
  HttpClient& http;
  WorkspaceRef workspace;      // -g and -w
  std::string experiment;      // -e
  std::string cluster;         // -c, for job create
  bool cluster_given = false;  // -c was on the command line

  JobRef job(const std::string& name) const { return {workspace, experiment, name}; }
};

// Sends the request (body as JSON when given) and parses a 2xx answer into *out (an empty body
// is null). A transport error, an error status or an answer that is not JSON is the Failure.
std::optional<Failure> call(Context& ctx, const std::string& method, const std::string& target,
                            const nlohmann::json* body, nlohmann::json* out);

// A list: the first page from METHOD target, the next ones from GET on each page's nextLink
// (its path, asked of this control plane: the token goes nowhere else). The items of every page
// in *items (an array).
std::optional<Failure> call_list(Context& ctx, const std::string& method, const std::string& target,
                                 nlohmann::json* items);

// The resource as az prints it: its properties merged into it, with its resource group.
std::optional<Failure> get_resource(Context& ctx, const std::string& target, nlohmann::json* out);

// The job's executionState, asked of the server.
std::optional<Failure> fetch_job_state(Context& ctx, const JobRef& job, std::string* state);

}  // namespace batchai::cli
