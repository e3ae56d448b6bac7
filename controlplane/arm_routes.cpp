// The resource-manager API's entry: every request under /subscriptions is parsed here
// (controlplane/arm_path.hpp), its subscription, names and api-version checked, and handed to
// the handler of its method and kind (controlplane/arm_handlers.hpp).
#include <array>
#include <string_view>

#include "controlplane/arm_handlers.hpp"
#include "controlplane/names.hpp"
#include "controlplane/routes.hpp"

namespace batchai::cp {

namespace {

struct ArmRoute {
  std::string_view method;
  std::string_view kind;
  ArmHandler handler;
};

// The kinds are ArmPath::kind(): provider/types[:tail]. Resource groups have no provider;
// their paths are told apart by ArmPath::groups before this table.
const std::array kRoutes = {
    ArmRoute{"GET", "microsoft.batchai:workspaces", arm_list_workspaces},
    ArmRoute{"GET", "microsoft.batchai/workspaces", arm_get_workspace},
    ArmRoute{"PUT", "microsoft.batchai/workspaces", arm_put_workspace},
    ArmRoute{"PATCH", "microsoft.batchai/workspaces", arm_put_workspace},
    ArmRoute{"DELETE", "microsoft.batchai/workspaces", arm_delete_workspace},
    ArmRoute{"GET", "microsoft.batchai/workspaces:experiments", arm_list_experiments},
    ArmRoute{"GET", "microsoft.batchai/workspaces/experiments", arm_get_experiment},
    ArmRoute{"PUT", "microsoft.batchai/workspaces/experiments", arm_put_experiment},
    ArmRoute{"DELETE", "microsoft.batchai/workspaces/experiments", arm_delete_experiment},
    ArmRoute{"GET", "microsoft.batchai/workspaces:clusters", arm_list_clusters},
    ArmRoute{"GET", "microsoft.batchai/workspaces/clusters", arm_get_cluster},
    ArmRoute{"PUT", "microsoft.batchai/workspaces/clusters", arm_put_cluster},
    ArmRoute{"PATCH", "microsoft.batchai/workspaces/clusters", arm_patch_cluster},
    ArmRoute{"DELETE", "microsoft.batchai/workspaces/clusters", arm_delete_cluster},
    ArmRoute{"POST", "microsoft.batchai/workspaces/clusters:listremotelogininformation",
             arm_cluster_remote_login},
    ArmRoute{"GET", "microsoft.batchai/workspaces:fileservers", arm_list_file_servers},
    ArmRoute{"GET", "microsoft.batchai/workspaces/experiments:jobs", arm_list_jobs},
    ArmRoute{"GET", "microsoft.batchai/workspaces/experiments/jobs", arm_get_job},
    ArmRoute{"PUT", "microsoft.batchai/workspaces/experiments/jobs", arm_put_job},
    ArmRoute{"DELETE", "microsoft.batchai/workspaces/experiments/jobs", arm_delete_job},
    ArmRoute{"POST", "microsoft.batchai/workspaces/experiments/jobs:terminate", arm_terminate_job},
    ArmRoute{"POST", "microsoft.batchai/workspaces/experiments/jobs:listoutputfiles",
             arm_list_output_files},
    // The SDK asks for a list's next page with GET on its nextLink.
    ArmRoute{"GET", "microsoft.batchai/workspaces/experiments/jobs:listoutputfiles",
             arm_list_output_files},
    ArmRoute{"GET", "microsoft.batchai/workspaces/experiments/jobs:listremotelogininformation",
             arm_job_remote_login},
    ArmRoute{"GET", "microsoft.batchai/workspaces/clusters:listremotelogininformation",
             arm_cluster_remote_login},
    ArmRoute{"POST", "microsoft.batchai/workspaces/experiments/jobs:listremotelogininformation",
             arm_job_remote_login},
    ArmRoute{"GET", "microsoft.batchai/locations:usages", arm_list_usages},
    ArmRoute{"GET", "microsoft.batchai/locations/operationstatuses", arm_get_operation_status},
    ArmRoute{"GET", "microsoft.storage:storageaccounts", arm_list_storage_accounts},
    ArmRoute{"GET", "microsoft.storage/storageaccounts", arm_get_storage_account},
    ArmRoute{"PUT", "microsoft.storage/storageaccounts", arm_put_storage_account},
    ArmRoute{"POST", "microsoft.storage/storageaccounts:listkeys", arm_list_storage_keys},
    ArmRoute{"POST", "microsoft.storage:checknameavailability", arm_check_storage_name},
};

// Where a path without a provider goes: subscriptions and resource groups.
ArmHandler group_route(const std::string& method, const ArmPath& p) {
  if (!p.subscription) return method == "GET" ? arm_list_subscriptions : nullptr;
  if (!p.groups) return method == "GET" ? arm_get_subscription : nullptr;
  if (!p.resource_group) return method == "GET" ? arm_list_groups : nullptr;
  if (method == "GET" || method == "HEAD") return arm_get_group;
  if (method == "PUT" || method == "PATCH") return arm_put_group;
  if (method == "DELETE") return arm_delete_group;
  return nullptr;
}

// Resource group names: 1 to 90 letters, digits, '_', '-', '.', '(', ')', not ending in '.'.
bool is_valid_group_name(const std::string& name) {
  if (name.empty() || name.size() > 90 || name.back() == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '(' || c == ')';
    if (!ok) return false;
  }
  return true;
}

std::optional<ApiError> check_names(const ArmPath& p) {
  if (p.subscription && *p.subscription != kSubscription) {
    return not_found("SubscriptionNotFound",
                     "The subscription '" + p.subscription->substr(0, 64) +
                         "' could not be found. This control plane serves " + kSubscription + ".");
  }
  if (p.resource_group && !is_valid_group_name(*p.resource_group)) {
    return bad_request("InvalidResourceGroup",
                       "a resource group name is 1 to 90 letters, digits, '_', '-', '.', '(' "
                       "and ')', not ending in '.'");
  }
  for (const auto& [type, name] : p.resources) {
    if (type == "storageaccounts" || type == "locations" || type == "operationstatuses") continue;
    if (!is_valid_name(name)) {
      return bad_request("InvalidResourceName",
                         "the " + type.substr(0, type.size() - 1) + " name \"" +
                             name.substr(0, 64) +
                             "\" is not valid: 1 to 64 letters, digits, '-' and '_'");
    }
  }
  return std::nullopt;
}

ArmHandler find_handler(const std::string& method, const ArmPath& p) {
  if (p.provider.empty()) return group_route(method, p);
  // A provider under the subscription or under one resource group, never under the group list.
  const std::string kind = p.kind();
  const std::string& m = method == "HEAD" ? std::string("GET") : method;
  for (const auto& r : kRoutes) {
    if (r.method == m && r.kind == kind) return r.handler;
  }
  return nullptr;
}

void serve(const ServerContext& ctx, const httplib::Request& http, httplib::Response& res) {
  auto path = parse_arm_path(http.path);
  if (!path) return send_error(res, not_found("NotFound", "no such resource: " + http.path));
  ArmRequest req{http, std::move(*path)};
  ArmHandler handler = find_handler(http.method, req.path);
  if (handler == nullptr) {
    return send_error(res, {405, "MethodNotAllowed",
                            "this control plane serves no " + http.method + " on " + http.path});
  }
  if (auto e = check_names(req.path)) return send_error(res, *e);
  if (auto e = check_api_version(req)) return send_error(res, *e);
  handler(ctx, req, res);
}

}  // namespace

void add_arm_routes(httplib::Server& server, const ServerContext& ctx) {
  // One pattern per method, with no alternatives to try: the path is split by hand above.
  const char* pattern = "/+subscriptions(/.*)?";
  auto handler = route(ctx, [&ctx](const auto& req, auto& res) { serve(ctx, req, res); });
  server.Get(pattern, handler);
  server.Put(pattern, handler);
  server.Patch(pattern, handler);
  server.Delete(pattern, handler);
  // httplib reads a POST without Content-Length until the client closes: drain a body only
  // when one is announced (as for the /v1 terminate route), and only once the caller is known.
  server.Post(pattern,
              httplib::Server::HandlerWithContentReader(
                  [&ctx, handler](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
                    if (auto e = authorize(ctx.credentials, Caller::kUser, req)) {
                      return send_error(res, *e);
                    }
                    httplib::Request copy = req;
                    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
                      std::string body;
                      const bool read = reader([&](const char* data, std::size_t size) {
                        if (body.size() + size > protocol::kMaxMessageBytes) return false;
                        body.append(data, size);
                        return true;
                      });
                      if (!read) {
                        return send_error(res, bad_request("InvalidRequestContent",
                                                           "unreadable or too large body"));
                      }
                      copy.body = std::move(body);
                    }
                    handler(copy, res);
                  }));
}

}  // namespace batchai::cp
