// The user messages: clusters and jobs (the `batchai` CLI's side of docs/protocol.md).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/time.hpp"
#include "controlplane/clusters.hpp"
#include "controlplane/jobs.hpp"
#include "controlplane/names.hpp"
#include "controlplane/routes.hpp"
#include "controlplane/views.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

// The 400 of a document with problems, one per line, as prepare_job words it.
ApiError invalid(const std::string& code, const std::vector<std::string>& problems) {
  std::string message = "not valid (" + std::to_string(problems.size()) +
                        (problems.size() == 1 ? " problem):" : " problems):");
  for (const auto& p : problems) message += "\n" + p;
  return bad_request(code, message);
}

constexpr const char* kCluster = "/v1/clusters/([^/]+)";
constexpr const char* kJobs = "/v1/workspaces/([^/]+)/experiments/([^/]+)/jobs";

std::optional<ApiError> check_names(const httplib::Request& req, std::size_t count) {
  for (std::size_t i = 1; i <= count; ++i) {
    if (!is_valid_name(req.matches[i])) {
      return not_found("NotFound",
                       "\"" + std::string(req.matches[i]) +
                           "\" is not a valid name (1 to 64 letters, digits, '-', '_')");
    }
  }
  return std::nullopt;
}

std::string key_of(const httplib::Request& req) {
  return job_key(req.matches[1], req.matches[2], req.matches[3]);
}

void put_cluster_route(const ServerContext& ctx, const httplib::Request& req,
                       httplib::Response& res) {
  const std::string name = req.matches[1];
  if (!is_valid_name(name)) {
    return send_error(res, bad_request("InvalidClusterName",
                                       "a cluster name is 1 to 64 letters, digits, '-' and '_'"));
  }
  auto settings = parse_cluster_settings(req.body);
  if (auto* e = std::get_if<ApiError>(&settings)) return send_error(res, *e);
  auto& setup = std::get<ClusterSettings>(settings).node_setup;
  if (setup.is_object() && setup.contains("mountVolumes")) {
    std::vector<std::string> problems;
    resolve_volumes(setup["mountVolumes"], "nodeSetup.mountVolumes", ctx.file_servers, true,
                    problems);
    if (!problems.empty()) return send_error(res, invalid("InvalidClusterSettings", problems));
  }
  bool created = false;
  bool deleting = false;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    auto it = s.clusters.find(name);
    deleting = it != s.clusters.end() && it->second.deleting;
    if (deleting) return false;
    created = put_cluster(s, name, std::get<ClusterSettings>(settings), wall_ms(), events);
    return true;
  });
  if (deleting) {
    return send_error(res, conflict("ClusterDeleting", "the cluster " + name +
                                                           " is being deleted: its nodes are "
                                                           "leaving"));
  }
  if (!saved) return send_not_saved(res);
  auto view = ctx.store.read([&](const State& s) { return view_cluster(s, s.clusters.at(name)); });
  send_json(res, created ? 201 : 200, view);
}

void get_cluster_route(const ServerContext& ctx, const httplib::Request& req,
                       httplib::Response& res) {
  const std::string name = req.matches[1];
  auto view = ctx.store.read([&](const State& s) -> std::optional<json> {
    auto it = s.clusters.find(name);
    if (it == s.clusters.end()) return std::nullopt;
    return view_cluster(s, it->second);
  });
  if (!view) return send_error(res, not_found("ClusterNotFound", "no cluster " + name));
  send_json(res, 200, *view);
}

void put_job_route(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto prepared =
      prepare_job(req.matches[1], req.matches[2], req.matches[3], req.body, ctx.default_cluster);
  if (auto* e = std::get_if<ApiError>(&prepared)) return send_error(res, *e);
  NewJob& job = std::get<NewJob>(prepared);
  if (job.properties.contains("mountVolumes")) {
    std::vector<std::string> problems;
    resolve_volumes(job.properties["mountVolumes"], "properties.mountVolumes", ctx.file_servers,
                    false, problems);
    if (!problems.empty()) return send_error(res, invalid("InvalidJobDocument", problems));
  }
  const std::string key = key_of(req);
  for (const auto& w : job.warnings) spdlog::info("job {}: warning: {}", key, w);
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    error = create_job(s, job, wall_ms(), events);
    return !error;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 201, ctx.store.read([&](const State& s) { return view_job(s.jobs.at(key)); }));
}

void get_job_route(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  if (auto e = check_names(req, 3)) return send_error(res, *e);
  const std::string key = key_of(req);
  auto view = ctx.store.read([&](const State& s) -> std::optional<json> {
    auto it = s.jobs.find(key);
    if (it == s.jobs.end() || it->second.deleted) return std::nullopt;
    return view_job(it->second);
  });
  if (!view) return send_error(res, not_found("JobNotFound", "the job " + key + " does not exist"));
  send_json(res, 200, *view);
}

void list_jobs_route(const ServerContext& ctx, const httplib::Request& req,
                     httplib::Response& res) {
  if (auto e = check_names(req, 2)) return send_error(res, *e);
  const std::string prefix = std::string(req.matches[1]) + "/" + std::string(req.matches[2]) + "/";
  auto list = ctx.store.read([&](const State& s) {
    std::vector<const JobRecord*> jobs;
    for (auto it = s.jobs.lower_bound(prefix); it != s.jobs.end() && it->first.starts_with(prefix);
         ++it) {
      if (!it->second.deleted) jobs.push_back(&it->second);
    }
    std::sort(jobs.begin(), jobs.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
    json out = json::array();
    for (const auto* j : jobs) out.push_back(view_job(*j));
    return out;
  });
  send_json(res, 200, list);
}

void terminate_route(const ServerContext& ctx, const httplib::Request& req,
                     httplib::Response& res) {
  if (auto e = check_names(req, 3)) return send_error(res, *e);
  const std::string key = key_of(req);
  std::optional<ApiError> error;
  auto saved = ctx.store.modify([&](State& s, Events& events) {
    bool changed = false;
    error = terminate_job(s, key, wall_ms(), changed, events);
    return !error && changed;
  });
  if (error) return send_error(res, *error);
  if (!saved) return send_not_saved(res);
  send_json(res, 200, ctx.store.read([&](const State& s) { return view_job(s.jobs.at(key)); }));
}

}  // namespace

void add_user_routes(httplib::Server& server, const ServerContext& ctx) {
  server.Put(kCluster,
             route(ctx, [&ctx](const auto& req, auto& res) { put_cluster_route(ctx, req, res); }));
  server.Get(kCluster,
             route(ctx, [&ctx](const auto& req, auto& res) { get_cluster_route(ctx, req, res); }));
  const std::string jobs = kJobs;
  server.Get(jobs,
             route(ctx, [&ctx](const auto& req, auto& res) { list_jobs_route(ctx, req, res); }));
  server.Put(jobs + "/([^/]+)",
             route(ctx, [&ctx](const auto& req, auto& res) { put_job_route(ctx, req, res); }));
  server.Get(jobs + "/([^/]+)",
             route(ctx, [&ctx](const auto& req, auto& res) { get_job_route(ctx, req, res); }));
  // terminate has no body. httplib 0.11 reads a POST without Content-Length until the client
  // closes (curl -X POST sends none), so this route drains a body only when one is announced.
  auto terminate =
      route(ctx, [&ctx](const auto& req, auto& res) { terminate_route(ctx, req, res); });
  server.Post(jobs + "/([^/]+)/terminate",
              httplib::Server::HandlerWithContentReader(
                  [terminate](const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader) {
                    if (req.has_header("Content-Length") || req.has_header("Transfer-Encoding")) {
                      if (!reader([](const char*, std::size_t) { return true; })) {
                        return send_error(res, bad_request("BadRequest", "unreadable body"));
                      }
                    }
                    terminate(req, res);
                  }));
}

}  // namespace batchai::cp
