// What the resource-manager routes share (docs/real-clients.md): the parsed request, api-version,
// query parameters by any case, the base URL the client used, resources in the
// {id, name, type, properties} envelope, lists with nextLink paging, and the long-running
// operation headers.
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "controlplane/arm_path.hpp"
#include "controlplane/http_util.hpp"

namespace batchai::cp {

struct ArmRequest {
  const httplib::Request& http;
  ArmPath path;
};

// The api-versions served: Batch AI's and the others' (any dated version: the resource,
// subscription and storage calls of the clients use fields every version has).
inline constexpr const char* kBatchAiApiVersion = "2018-05-01";

// A 400 unless api-version fits the path's provider.
std::optional<ApiError> check_api_version(const ArmRequest& req);

// A query parameter whose name matches name in any case (az writes outputdirectoryid, the SDK
// the same; Azure ignores case); "" when absent.
std::string query_param(const httplib::Request& req, const std::string& name);

// The URL the control plane's links start with: --public-url when given (what a deployment
// behind a proxy or a name should use: links then never follow a Host header), else
// "https://HOST:PORT" as the client addressed it (its Host header), or none when the header is
// not a host and port.
std::optional<std::string> base_url(const ServerContext& ctx, const httplib::Request& req);

// The resource envelope of a flat view: id, name, type, location and tags at the top, the rest
// (but resourceGroup) under properties.
nlohmann::json arm_resource(const nlohmann::json& flat, const std::string& type);

// {"value": [...]} with at most maxresults (default 1000) items from $skiptoken on, and a
// nextLink to the rest.
void send_list(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res,
               const nlohmann::json& items);

// 202 Accepted for a long-running operation whose status is
// .../locations/local/operationstatuses/<operation> (an Azure-AsyncOperation and Location),
// polled at once (Retry-After: 0). Operations: "job~<uuid>", "cluster~<name>~<creationMs>"
// (arm_get_operation_status).
void send_accepted(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res,
                   const std::string& operation);

ApiError resource_not_found(const std::string& what);

// At most this many resource groups, workspaces and experiments each: every change rewrites the
// whole state, so their number is bounded.
inline constexpr std::size_t kMaxArmObjects = 1000;
ApiError quota_exceeded(const std::string& what);

// 204 No Content, with no body (a body would corrupt the client's next response on the
// connection).
void send_no_content(httplib::Response& res);

// The body as a JSON object (empty allowed: {}), with a 400 naming the problem otherwise.
std::variant<nlohmann::json, ApiError> body_object(const httplib::Request& req);

}  // namespace batchai::cp
