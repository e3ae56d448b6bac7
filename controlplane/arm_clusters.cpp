// Batch AI clusters: the node pools the agents join by name (a cluster name is unique on this
// control plane), created and shown as 2018-05-01's Cluster.
#include "common/time.hpp"
#include "controlplane/arm_handlers.hpp"
#include "controlplane/clusters.hpp"
#include "controlplane/names.hpp"
#include "controlplane/views.hpp"
#include "controlplane/workspaces.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr const char* kClusterType = "Microsoft.BatchAI/workspaces/clusters";

// The cluster of the path, if it exists in the path's workspace.
const ClusterRecord* find_cluster(const State& s, const ArmRequest& req) {
  auto it = s.clusters.find(req.path.name_of("clusters"));
  if (it == s.clusters.end() || it->second.deleting) return nullptr;
  const std::string& ws = req.path.name_of("workspaces");
  if (!find_workspace(s, req.path.resource_group.value_or(""), ws)) return nullptr;
  return workspace_or_default(it->second.workspace) == ws ? &it->second : nullptr;
}

ApiError cluster_not_found(const ArmRequest& req) {
  return resource_not_found("Microsoft.BatchAI/workspaces/" + req.path.name_of("workspaces") +
                            "/clusters/" + req.path.name_of("clusters"));
}

json cluster_resource(const State& s, const ClusterRecord& c) {
  return arm_resource(view_cluster(s, c), kClusterType);
}

ApiError invalid(const std::vector<std::string>& problems) {
  std::string message = "the cluster settings are not valid (" + std::to_string(problems.size()) +
                        (problems.size() == 1 ? " problem):" : " problems):");
  for (const auto& p : problems) message += "\n" + p;
  return bad_request("InvalidClusterSettings", message);
}

// Creates or replaces the cluster of the path with settings, in the path's workspace.
void save_cluster(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res,
                  ClusterSettings settings) {
  auto& setup = settings.node_setup;
  if (setup.is_object() && setup.contains("mountVolumes")) {
    std::vector<std::string> problems;
    resolve_volumes(setup["mountVolumes"], "nodeSetup.mountVolumes", ctx.file_servers, true,
                    problems);
    if (!problems.empty()) return send_error(res, invalid(problems));
  }
  const std::string& name = req.path.name_of("clusters");
  const std::string& ws = req.path.name_of("workspaces");
  std::optional<ApiError> error;
  json view;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    const auto* w = find_workspace(s, req.path.resource_group.value_or(""), ws);
    if (!w) {
      error = resource_not_found("Microsoft.BatchAI/workspaces/" + ws);
      return false;
    }
    if (auto it = s.clusters.find(name); it != s.clusters.end()) {
      const ClusterRecord& c = it->second;
      if (c.deleting) {
        error = conflict("ClusterDeleting",
                         "the cluster " + name + " is being deleted: its nodes are leaving");
        return false;
      }
      // A cluster of no workspace (the control plane's --cluster) is taken by the first.
      if (!c.workspace.empty() && c.workspace != ws) {
        error = conflict("ClusterNameTaken",
                         "a cluster named " + name + " exists in the workspace " + c.workspace +
                             "; cluster names are unique on this control plane (nodes join "
                             "a cluster by name)");
        return false;
      }
    }
    const std::string group = w->resource_group;
    put_cluster(s, name, settings, wall_ms(), events);
    s.clusters.at(name).workspace = ws;
    s.clusters.at(name).resource_group = group;
    view = cluster_resource(s, s.clusters.at(name));
    return true;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 200, view);
}

}  // namespace

void arm_list_clusters(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const std::string& ws = req.path.name_of("workspaces");
  auto list = ctx.store.read([&](const State& s) -> std::optional<json> {
    if (!find_workspace(s, req.path.resource_group.value_or(""), ws)) return std::nullopt;
    json out = json::array();
    for (const auto& [name, c] : s.clusters) {
      if (!c.deleting && workspace_or_default(c.workspace) == ws) {
        out.push_back(cluster_resource(s, c));
      }
    }
    return out;
  });
  if (!list) return send_error(res, resource_not_found("Microsoft.BatchAI/workspaces/" + ws));
  send_list(ctx, req, res, *list);
}

void arm_get_cluster(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto view = ctx.store.read([&](const State& s) -> std::optional<json> {
    const auto* c = find_cluster(s, req);
    return c ? std::optional<json>(cluster_resource(s, *c)) : std::nullopt;
  });
  if (!view) return send_error(res, cluster_not_found(req));
  send_json(res, 200, *view);
}

void arm_put_cluster(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  if (!nesting_within(req.http.body, kMaxBodyNesting)) {
    return send_error(res, bad_request("InvalidRequestContent", "the body nests too deeply"));
  }
  auto settings = parse_cluster_settings(req.http.body);
  if (auto* e = std::get_if<ApiError>(&settings)) return send_error(res, *e);
  save_cluster(ctx, req, res, std::get<ClusterSettings>(std::move(settings)));
}

// ClusterUpdateParameters: {"properties": {"scaleSettings": ...}} (az batchai cluster resize
// and auto-scale); the other settings stay.
void arm_patch_cluster(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto body = body_object(req.http);
  if (auto* e = std::get_if<ApiError>(&body)) return send_error(res, *e);
  json props = std::get<json>(body).value("properties", json::object());
  if (!props.is_object() || props.size() > 1 ||
      (props.size() == 1 && !props.contains("scaleSettings"))) {
    return send_error(res, bad_request("InvalidClusterSettings",
                                       "an update changes properties.scaleSettings only"));
  }
  auto current = ctx.store.read([&](const State& s) -> std::optional<json> {
    const auto* c = find_cluster(s, req);
    if (!c) return std::nullopt;
    return json{
        {"nodeSetup", c->node_setup},         {"userAccountSettings", c->user_account_settings},
        {"scaleSettings", c->scale_settings}, {"vmSize", c->vm_size},
        {"vmPriority", c->vm_priority},       {"virtualMachineConfiguration", c->vm_configuration}};
  });
  if (!current) return send_error(res, cluster_not_found(req));
  if (props.contains("scaleSettings")) (*current)["scaleSettings"] = props["scaleSettings"];
  auto settings = parse_cluster_settings(current->dump());
  if (auto* e = std::get_if<ApiError>(&settings)) return send_error(res, *e);
  save_cluster(ctx, req, res, std::get<ClusterSettings>(std::move(settings)));
}

void arm_delete_cluster(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  std::optional<std::string> operation;
  bool found = false;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    const auto* c = find_cluster(s, req);
    if (!c) return false;
    found = true;
    const std::string name = c->name;
    const std::string id = "cluster~" + name + "~" + std::to_string(c->creation_ms);
    delete_cluster(s, name, wall_ms(), events);
    if (s.clusters.count(name)) operation = id;
    return true;
  });
  if (!found) return send_no_content(res);
  if (!saved) return send_not_saved(res);
  if (!operation) {
    res.status = 200;
    return;
  }
  send_accepted(ctx, req, res, *operation);
}

void arm_cluster_remote_login(const ServerContext& ctx, const ArmRequest& req,
                              httplib::Response& res) {
  auto list = ctx.store.read([&](const State& s) -> std::optional<json> {
    const auto* c = find_cluster(s, req);
    if (!c) return std::nullopt;
    json out = json::array();
    for (const auto& [id, n] : s.nodes) {
      if (n.cluster != c->name) continue;
      const std::string ip = n.facts.ip_addresses.empty() ? "" : n.facts.ip_addresses.front();
      out.push_back({{"nodeId", id}, {"ipAddress", ip}, {"port", 22}});
    }
    return out;
  });
  if (!list) return send_error(res, cluster_not_found(req));
  send_list(ctx, req, res, *list);
}

}  // namespace batchai::cp
