// GET .../jobs/{job}/files?directory=D and GET .../jobs/{job}/files/{D}/{name}?offset=N.
#include <optional>

#include "controlplane/job_files.hpp"
#include "controlplane/names.hpp"
#include "controlplane/routes.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

constexpr const char* kJob = "/v1/workspaces/([^/]+)/experiments/([^/]+)/jobs/([^/]+)";
constexpr std::size_t kMaxChunkBytes = 4u * 1024 * 1024;

// The job's record, copied out of the state: the files are read without the lock.
std::optional<JobRecord> find_job(const ServerContext& ctx, const httplib::Request& req) {
  for (int i = 1; i <= 3; ++i) {
    if (!is_valid_name(req.matches[i])) return std::nullopt;
  }
  const std::string key = job_key(req.matches[1], req.matches[2], req.matches[3]);
  return ctx.store.read([&](const State& s) -> std::optional<JobRecord> {
    auto it = s.jobs.find(key);
    if (it == s.jobs.end()) return std::nullopt;
    return it->second;
  });
}

void list_route(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = find_job(ctx, req);
  if (!job) return send_error(res, not_found("JobNotFound", "the job does not exist"));
  if (!req.has_param("directory")) {
    return send_error(res, bad_request("InvalidQuery",
                                       "directory=stdouterr or directory=<output id> is required"));
  }
  auto dir = job_directory(*job, req.get_param_value("directory"), ctx.node_root);
  if (auto* e = std::get_if<ApiError>(&dir)) return send_error(res, *e);
  auto files = list_files(std::get<JobDirectory>(dir));
  if (auto* e = std::get_if<ApiError>(&files)) return send_error(res, *e);
  res.set_header("X-Job-State", job->state);
  send_json(res, 200, std::get<json>(files));
}

void read_route(const ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  auto job = find_job(ctx, req);
  if (!job) return send_error(res, not_found("JobNotFound", "the job does not exist"));
  res.set_header("X-Job-State", job->state);
  const std::string name = req.matches[5];
  if (!is_safe_file_name(name)) {
    return send_error(res, bad_request("InvalidFileName", "the file name must be one component"));
  }
  auto offset = int_param(req, "offset", 0, 0, INT64_MAX);
  if (!offset) {
    return send_error(res, bad_request("InvalidQuery", "offset must be a whole number >= 0"));
  }
  auto dir = job_directory(*job, req.matches[4], ctx.node_root);
  if (auto* e = std::get_if<ApiError>(&dir)) return send_error(res, *e);
  auto chunk = read_file_chunk(std::get<JobDirectory>(dir), name, *offset, kMaxChunkBytes);
  if (auto* e = std::get_if<ApiError>(&chunk)) return send_error(res, *e);
  auto& c = std::get<FileChunk>(chunk);
  res.set_header("X-File-Size", std::to_string(c.file_size));
  res.status = 200;
  res.set_content(c.bytes, "application/octet-stream");
}

}  // namespace

void add_file_routes(httplib::Server& server, const ServerContext& ctx) {
  const std::string job = kJob;
  server.Get(job + "/files",
             route(ctx, [&ctx](const auto& req, auto& res) { list_route(ctx, req, res); }));
  server.Get(job + "/files/([^/]+)/([^/]+)",
             route(ctx, [&ctx](const auto& req, auto& res) { read_route(ctx, req, res); }));
}

}  // namespace batchai::cp
