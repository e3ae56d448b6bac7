// Workspaces and experiments, the containers of Batch AI's clusters and jobs; usages, file
// servers and the status of long-running deletions, as far as the clients call them.
#include "common/time.hpp"
#include "controlplane/arm_handlers.hpp"
#include "controlplane/jobs.hpp"
#include "controlplane/names.hpp"
#include "controlplane/workspaces.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

json workspace_view(const WorkspaceRecord& w) {
  const std::string created = iso8601_utc(w.creation_ms);
  return {{"id", workspace_resource_id(w.resource_group, w.name)},
          {"name", w.name},
          {"type", "Microsoft.BatchAI/workspaces"},
          {"location", w.location},
          {"tags", w.tags},
          {"properties",
           {{"creationTime", created},
            {"provisioningState", "succeeded"},
            {"provisioningStateTransitionTime", created}}}};
}

json experiment_view(const std::string& group, const ExperimentRecord& e) {
  const std::string created = iso8601_utc(e.creation_ms);
  return {{"id", experiment_resource_id(group, e.workspace, e.name)},
          {"name", e.name},
          {"type", "Microsoft.BatchAI/workspaces/experiments"},
          {"properties",
           {{"creationTime", created},
            {"provisioningState", "succeeded"},
            {"provisioningStateTransitionTime", created}}}};
}

ApiError group_not_found(const std::string& group) {
  return not_found("ResourceGroupNotFound", "Resource group '" + group + "' could not be found.");
}

ApiError workspace_not_found(const ArmRequest& req) {
  return resource_not_found("Microsoft.BatchAI/workspaces/" + req.path.name_of("workspaces") +
                            "' under resource group '" + req.path.resource_group.value_or(""));
}

}  // namespace

void arm_list_workspaces(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const auto& group = req.path.resource_group;
  auto list = ctx.store.read([&](const State& s) {
    json out = json::array();
    for (const auto& [name, w] : s.workspaces) {
      if (!group || lower_ascii(w.resource_group) == lower_ascii(*group)) {
        out.push_back(workspace_view(w));
      }
    }
    return out;
  });
  send_list(ctx, req, res, list);
}

void arm_get_workspace(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  if (!req.path.resource_group) return send_error(res, workspace_not_found(req));
  auto view = ctx.store.read([&](const State& s) -> std::optional<json> {
    const auto* w = find_workspace(s, *req.path.resource_group, req.path.name_of("workspaces"));
    return w ? std::optional<json>(workspace_view(*w)) : std::nullopt;
  });
  if (!view) return send_error(res, workspace_not_found(req));
  send_json(res, 200, *view);
}

void arm_put_workspace(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  if (!req.path.resource_group) return send_error(res, workspace_not_found(req));
  auto body = body_object(req.http);
  if (auto* e = std::get_if<ApiError>(&body)) return send_error(res, *e);
  const json& b = std::get<json>(body);
  const bool patch = req.http.method == "PATCH";
  if (auto e = check_location_and_tags(b, !patch)) return send_error(res, *e);
  const std::string& group = *req.path.resource_group;
  const std::string& name = req.path.name_of("workspaces");
  std::optional<ApiError> error;
  json view;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    auto g = s.resource_groups.find(lower_ascii(group));
    if (g == s.resource_groups.end()) return (error = group_not_found(group), false);
    auto it = s.workspaces.find(name);
    if (it != s.workspaces.end() && lower_ascii(it->second.resource_group) != g->first) {
      error = conflict("WorkspaceNameTaken",
                       "a workspace named " + name + " exists in the resource group " +
                           it->second.resource_group +
                           "; workspace names are unique on this control plane");
      return false;
    }
    if (it == s.workspaces.end()) {
      if (patch) return (error = workspace_not_found(req), false);
      if (s.workspaces.size() >= kMaxArmObjects)
        return (error = quota_exceeded("workspaces"), false);
      it = s.workspaces.emplace(name, WorkspaceRecord{name, g->second.name, "", nullptr, wall_ms()})
               .first;
      events.push_back("workspace " + name + ": created in " + g->second.name);
    }
    if (b.contains("location")) it->second.location = b["location"].get<std::string>();
    if (b.contains("tags")) it->second.tags = b["tags"];
    view = workspace_view(it->second);
    return true;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 200, view);
}

void arm_delete_workspace(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  bool found = false;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    const std::string& name = req.path.name_of("workspaces");
    found = req.path.resource_group && find_workspace(s, *req.path.resource_group, name);
    if (found) delete_workspace(s, name, wall_ms(), events);
    return found;
  });
  // Deleting what does not exist succeeds, as in Azure (204).
  if (!found) return send_no_content(res);
  if (!saved) return send_not_saved(res);
  res.status = 200;
}

void arm_list_experiments(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const std::string& ws = req.path.name_of("workspaces");
  auto list = ctx.store.read([&](const State& s) -> std::optional<json> {
    const auto* w = find_workspace(s, req.path.resource_group.value_or(""), ws);
    if (!w) return std::nullopt;
    json out = json::array();
    const std::string prefix = ws + "/";
    for (auto it = s.experiments.lower_bound(prefix);
         it != s.experiments.end() && it->first.starts_with(prefix); ++it) {
      out.push_back(experiment_view(w->resource_group, it->second));
    }
    return out;
  });
  if (!list) return send_error(res, workspace_not_found(req));
  send_list(ctx, req, res, *list);
}

void arm_get_experiment(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const std::string& ws = req.path.name_of("workspaces");
  const std::string& name = req.path.name_of("experiments");
  auto view = ctx.store.read([&](const State& s) -> std::optional<json> {
    const auto* w = find_workspace(s, req.path.resource_group.value_or(""), ws);
    auto it = s.experiments.find(ws + "/" + name);
    if (!w || it == s.experiments.end()) return std::nullopt;
    return experiment_view(w->resource_group, it->second);
  });
  if (!view) {
    return send_error(
        res, resource_not_found("Microsoft.BatchAI/workspaces/" + ws + "/experiments/" + name));
  }
  send_json(res, 200, *view);
}

void arm_put_experiment(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  // ExperimentCreateParameters has nothing to set, but it is an object.
  if (auto body = body_object(req.http); std::get_if<ApiError>(&body)) {
    return send_error(res, std::get<ApiError>(body));
  }
  const std::string& ws = req.path.name_of("workspaces");
  const std::string& name = req.path.name_of("experiments");
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    if (!find_workspace(s, req.path.resource_group.value_or(""), ws)) {
      return (error = workspace_not_found(req), false);
    }
    const std::string key = ws + "/" + name;
    if (s.experiments.count(key)) return false;  // exists: nothing to change
    if (s.experiments.size() >= kMaxArmObjects)
      return (error = quota_exceeded("experiments"), false);
    s.experiments.emplace(key, ExperimentRecord{ws, name, wall_ms()});
    events.push_back("experiment " + key + ": created");
    return true;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  arm_get_experiment(ctx, req, res);
}

void arm_delete_experiment(const ServerContext& ctx, const ArmRequest& req,
                           httplib::Response& res) {
  const std::string key = req.path.name_of("workspaces") + "/" + req.path.name_of("experiments");
  bool found = false;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    found =
        find_workspace(s, req.path.resource_group.value_or(""), req.path.name_of("workspaces")) &&
        s.experiments.count(key);
    if (!found) return false;
    std::vector<std::string> jobs;
    for (const auto& [k, job] : s.jobs) {
      if (k.starts_with(key + "/") && !job.deleted) jobs.push_back(k);
    }
    for (const auto& k : jobs) delete_job(s, k, wall_ms(), events);
    s.experiments.erase(key);
    events.push_back("experiment " + key + ": deleted");
    return true;
  });
  if (!found) return send_no_content(res);
  if (!saved) return send_not_saved(res);
  res.status = 200;
}

void arm_list_usages(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto cores = ctx.store.read([](const State& s) {
    std::int64_t n = 0;
    for (const auto& [id, node] : s.nodes) n += node.facts.cores;
    return n;
  });
  json usage = {{"unit", "Count"},
                {"currentValue", cores},
                {"limit", cores},
                {"name", {{"value", "dedicatedCores"}, {"localizedValue", "Dedicated Cores"}}}};
  send_list(ctx, req, res, json::array({usage}));
}

void arm_list_file_servers(const ServerContext& ctx, const ArmRequest& req,
                           httplib::Response& res) {
  // The NFS servers of --file-server are named in fileServers by name; none is managed here.
  send_list(ctx, req, res, json::array());
}

void arm_get_operation_status(const ServerContext& ctx, const ArmRequest& req,
                              httplib::Response& res) {
  // <kind>~<key>: "job~<uuid>" or "cluster~<name>~<creationMs>" (arm_jobs.cpp, arm_clusters.cpp).
  const std::string& id = req.path.name_of("operationstatuses");
  const bool running = ctx.store.read([&](const State& s) {
    if (id.starts_with("job~")) {
      for (const auto& [key, job] : s.jobs) {
        if (job.uuid == id.substr(4)) return true;
      }
      return false;
    }
    for (const auto& [name, c] : s.clusters) {
      if (id == "cluster~" + name + "~" + std::to_string(c.creation_ms)) return true;
    }
    return false;
  });
  send_json(res, 200, {{"name", id}, {"status", running ? "InProgress" : "Succeeded"}});
}

}  // namespace batchai::cp
