// Batch AI jobs: created from JobCreateParameters (the job document's properties, checked as the
// node will run them), shown as 2018-05-01's Job, terminated, deleted, and their files listed
// with download links (controlplane/file_links.hpp).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "common/time.hpp"
#include "controlplane/arm_handlers.hpp"
#include "controlplane/file_links.hpp"
#include "controlplane/job_files.hpp"
#include "controlplane/jobs.hpp"
#include "controlplane/names.hpp"
#include "controlplane/routes.hpp"
#include "controlplane/views.hpp"
#include "controlplane/workspaces.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr const char* kJobType = "Microsoft.BatchAI/workspaces/experiments/jobs";

std::string key_of(const ArmRequest& req) {
  return job_key(req.path.name_of("workspaces"), req.path.name_of("experiments"),
                 req.path.name_of("jobs"));
}

// The job of the path (not deleted, in the path's resource group), copied out of the state.
std::optional<JobRecord> find_job(const ServerContext& ctx, const ArmRequest& req) {
  return ctx.store.read([&](const State& s) -> std::optional<JobRecord> {
    if (!find_workspace(s, req.path.resource_group.value_or(""), req.path.name_of("workspaces"))) {
      return std::nullopt;
    }
    auto it = s.jobs.find(key_of(req));
    if (it == s.jobs.end() || it->second.deleted) return std::nullopt;
    return it->second;
  });
}

ApiError job_not_found(const ArmRequest& req) {
  return resource_not_found("Microsoft.BatchAI/workspaces/" + req.path.name_of("workspaces") +
                            "/experiments/" + req.path.name_of("experiments") + "/jobs/" +
                            req.path.name_of("jobs"));
}

ApiError invalid(const std::vector<std::string>& problems) {
  std::string message = "the job is not valid (" + std::to_string(problems.size()) +
                        (problems.size() == 1 ? " problem):" : " problems):");
  for (const auto& p : problems) message += "\n" + p;
  return bad_request("InvalidJobDocument", message);
}

// Whether a cluster's resource id in the document (a name alone says nothing more) names the
// job's own resource group and workspace: only its last segment picks the cluster.
bool id_names_place(const json& properties, const WorkspaceRecord& ws) {
  const json* cluster = properties.contains("cluster") ? &properties["cluster"] : nullptr;
  if (cluster == nullptr || !cluster->is_object() || !cluster->contains("id") ||
      !(*cluster)["id"].is_string()) {
    return true;
  }
  const std::string id = (*cluster)["id"].get<std::string>();
  if (id.find('/') == std::string::npos) return true;
  auto path = parse_arm_path(id);
  if (!path) return false;
  const bool group_ok =
      !path->resource_group || lower_ascii(*path->resource_group) == lower_ascii(ws.resource_group);
  const std::string& named = path->name_of("workspaces");
  return group_ok && (named.empty() || named == ws.name);
}

// The cluster a new job names must be one of its own workspace's.
std::optional<ApiError> check_job_place(const State& s, const ArmRequest& req, const NewJob& job) {
  const std::string& ws = req.path.name_of("workspaces");
  const WorkspaceRecord* workspace = find_workspace(s, req.path.resource_group.value_or(""), ws);
  if (workspace == nullptr) return resource_not_found("Microsoft.BatchAI/workspaces/" + ws);
  if (!id_names_place(job.properties, *workspace)) {
    return invalid(
        {"properties.cluster.id: is not the resource id of a cluster of the job's "
         "resource group and workspace (" +
         workspace->resource_group + "/" + ws + ")"});
  }
  if (!s.experiments.count(ws + "/" + job.experiment)) {
    return resource_not_found("Microsoft.BatchAI/workspaces/" + ws + "/experiments/" +
                              job.experiment);
  }
  if (job.cluster.empty()) {
    return invalid({"properties.cluster: is required: {\"id\": \"<the cluster's resource id>\"}"});
  }
  auto c = s.clusters.find(job.cluster);
  if (c == s.clusters.end() || c->second.deleting ||
      workspace_or_default(c->second.workspace) != ws) {
    return invalid(
        {"properties.cluster: the workspace " + ws + " has no cluster \"" + job.cluster + "\""});
  }
  return std::nullopt;
}

json job_resource(const JobRecord& job) {
  return arm_resource(view_job(job), kJobType);
}

// linkexpiryinminutes: 5 to 600 (2018-05-01's range), 60 when absent.
std::optional<std::int64_t> link_minutes(const httplib::Request& req) {
  const std::string text = query_param(req, "linkexpiryinminutes");
  if (text.empty()) return 60;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 5 || v > 600) {
    return std::nullopt;
  }
  return v;
}

}  // namespace

void arm_list_jobs(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  const std::string& ws = req.path.name_of("workspaces");
  const std::string& exp = req.path.name_of("experiments");
  auto list = ctx.store.read([&](const State& s) -> std::optional<json> {
    if (!find_workspace(s, req.path.resource_group.value_or(""), ws) ||
        !s.experiments.count(ws + "/" + exp)) {
      return std::nullopt;
    }
    std::vector<const JobRecord*> jobs;
    const std::string prefix = ws + "/" + exp + "/";
    for (auto it = s.jobs.lower_bound(prefix); it != s.jobs.end() && it->first.starts_with(prefix);
         ++it) {
      if (!it->second.deleted) jobs.push_back(&it->second);
    }
    std::sort(jobs.begin(), jobs.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
    json out = json::array();
    for (const auto* j : jobs) out.push_back(job_resource(*j));
    return out;
  });
  if (!list) {
    return send_error(
        res, resource_not_found("Microsoft.BatchAI/workspaces/" + ws + "/experiments/" + exp));
  }
  send_list(ctx, req, res, *list);
}

void arm_get_job(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto job = find_job(ctx, req);
  if (!job) return send_error(res, job_not_found(req));
  send_json(res, 200, job_resource(*job));
}

void arm_put_job(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto prepared = prepare_job(req.path.name_of("workspaces"), req.path.name_of("experiments"),
                              req.path.name_of("jobs"), req.http.body, ctx.default_cluster);
  if (auto* e = std::get_if<ApiError>(&prepared)) return send_error(res, *e);
  NewJob& job = std::get<NewJob>(prepared);
  if (job.properties.contains("mountVolumes")) {
    std::vector<std::string> problems;
    resolve_volumes(job.properties["mountVolumes"], "properties.mountVolumes", ctx.file_servers,
                    false, problems);
    if (!problems.empty()) return send_error(res, invalid(problems));
  }
  const std::string key = key_of(req);
  for (const auto& w : job.warnings) spdlog::info("job {}: warning: {}", key, w);
  std::optional<ApiError> error;
  json view;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    error = check_job_place(s, req, job);
    if (error) return false;
    job.resource_group = s.workspaces.at(job.workspace).resource_group;
    error = create_job(s, job, wall_ms(), events);
    if (!error) view = job_resource(s.jobs.at(key));
    return !error;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 200, view);
}

void arm_delete_job(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  if (!find_job(ctx, req)) return send_no_content(res);
  const std::string key = key_of(req);
  std::optional<std::string> uuid;
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    auto it = s.jobs.find(key);
    if (it == s.jobs.end() || it->second.deleted) return false;  // deleted meanwhile
    const std::string id = it->second.uuid;
    error = delete_job(s, key, wall_ms(), events);
    if (!error && s.jobs.count(key)) uuid = id;
    return !error;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  if (!uuid) {
    res.status = 200;
    return;
  }
  // Until its tasks have ended on their nodes (operation status job~<uuid>).
  send_accepted(ctx, req, res, "job~" + *uuid);
}

void arm_terminate_job(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  if (!find_job(ctx, req)) return send_error(res, job_not_found(req));
  const std::string key = key_of(req);
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    bool changed = false;
    error = terminate_job(s, key, wall_ms(), changed, events);
    return !error && changed;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  res.status = 200;
}

void arm_list_output_files(const ServerContext& ctx, const ArmRequest& req,
                           httplib::Response& res) {
  auto job = find_job(ctx, req);
  if (!job) return send_error(res, job_not_found(req));
  const std::string directory_id = query_param(req.http, "outputdirectoryid");
  if (directory_id.empty()) {
    return send_error(res, bad_request("InvalidQueryParameterValue",
                                       "outputdirectoryid is required: stdouterr or the id of "
                                       "one of the job's outputDirectories"));
  }
  // directory: a path below the output directory ("." or absent: the directory itself).
  std::string directory = query_param(req.http, "directory");
  while (directory.starts_with("./")) directory.erase(0, 2);
  while (directory.ends_with("/")) directory.pop_back();
  if (directory == ".") directory.clear();
  auto minutes = link_minutes(req.http);
  if (!minutes) {
    return send_error(res, bad_request("InvalidQueryParameterValue",
                                       "linkexpiryinminutes must be a whole number from 5 to 600"));
  }
  auto dir = job_directory(*job, directory_id, place_of(ctx, *job));
  if (auto* e = std::get_if<ApiError>(&dir)) return send_error(res, *e);
  if (!directory.empty()) {
    if (auto e = descend(std::get<JobDirectory>(dir), directory)) return send_error(res, *e);
  }
  auto files = list_files(std::get<JobDirectory>(dir), true);
  if (auto* e = std::get_if<ApiError>(&files)) return send_error(res, *e);
  const std::string base = base_url(ctx, req.http).value_or("");
  const std::int64_t expiry = wall_ms() / 1000 + *minutes * 60;
  json out = json::array();
  for (const auto& f : std::get<json>(files)) {
    const std::string name = f.at("name").get<std::string>();
    if (f.value("directory", false)) {
      // A blob container's directories are prefixes, with no time of their own.
      json props =
          f.contains("lastModified") ? json{{"lastModified", f["lastModified"]}} : json::object();
      out.push_back({{"name", name}, {"fileType", "directory"}, {"properties", props}});
      continue;
    }
    FileLink link{key_of(req), job->uuid, directory_id,
                  directory.empty() ? name : directory + "/" + name, expiry};
    // In a blob container: the blob's own read-only SAS URL, read from the blob service.
    auto direct = storage_download_url(std::get<JobDirectory>(dir), name, expiry);
    if (direct && std::holds_alternative<ApiError>(*direct)) {
      return send_error(res, std::get<ApiError>(*direct));
    }
    out.push_back({{"name", name},
                   {"fileType", "file"},
                   {"downloadUrl",
                    direct ? std::get<std::string>(*direct) : base + ctx.file_links->make(link)},
                   {"properties",
                    {{"lastModified", f.at("lastModified")}, {"contentLength", f.at("size")}}}});
  }
  send_list(ctx, req, res, out);
}

void arm_job_remote_login(const ServerContext& ctx, const ArmRequest& req, httplib::Response& res) {
  auto job = find_job(ctx, req);
  if (!job) return send_error(res, job_not_found(req));
  auto list = ctx.store.read([&](const State& s) {
    json out = json::array();
    for (const auto& t : job->tasks) {
      auto n = s.nodes.find(t.node_id);
      if (n == s.nodes.end()) continue;
      const auto& ips = n->second.facts.ip_addresses;
      out.push_back(
          {{"nodeId", t.node_id}, {"ipAddress", ips.empty() ? "" : ips.front()}, {"port", 22}});
    }
    return out;
  });
  send_list(ctx, req, res, list);
}

}  // namespace batchai::cp
