#include "controlplane/jobs.hpp"

#include <algorithm>
#include <set>

#include "common/time.hpp"
#include "common/uuid.hpp"
#include "controlplane/job_state.hpp"
#include "controlplane/names.hpp"
#include "controlplane/nodes.hpp"
#include "controlplane/scheduler.hpp"
#include "jobspec/job_parser.hpp"

namespace batchai::cp {

using nlohmann::json;

namespace {

std::string tool_type_of(Toolkit t) {
  switch (t) {
    case Toolkit::kCntk:
      return "cntk";
    case Toolkit::kPyTorch:
      return "pytorch";
    case Toolkit::kTensorFlow:
      return "tensorflow";
    case Toolkit::kCaffe:
      return "caffe";
    case Toolkit::kCaffe2:
      return "caffe2";
    case Toolkit::kChainer:
      return "chainer";
    case Toolkit::kCustomToolkit:
      return "custom";
    case Toolkit::kCustomMpi:
      return "custommpi";
    case Toolkit::kHorovod:
      return "horovod";
  }
  return "custom";
}

// properties.cluster: "name", {"id": "name"} or {"id": ".../clusters/name"}.
std::string cluster_of(const json& props, const std::string& fallback,
                       std::vector<std::string>& problems) {
  auto it = props.find("cluster");
  if (it == props.end() || it->is_null()) return fallback;
  std::string text;
  if (it->is_string()) {
    text = it->get<std::string>();
  } else if (it->is_object() && it->contains("id") && (*it)["id"].is_string()) {
    text = (*it)["id"].get<std::string>();
    auto slash = text.rfind('/');
    if (slash != std::string::npos) text = text.substr(slash + 1);
  } else {
    problems.push_back("properties.cluster: must be a cluster name or {\"id\": ...}");
    return fallback;
  }
  if (!is_valid_name(text)) {
    problems.push_back("properties.cluster: \"" + text + "\" is not a valid cluster name");
  }
  return text;
}

void check_name(const char* what, const std::string& name, std::vector<std::string>& problems) {
  if (!is_valid_name(name)) {
    problems.push_back(std::string(what) +
                       ": must be 1 to 64 letters, digits, '-' and '_' (the URL names it)");
  }
}

}  // namespace

std::variant<NewJob, ApiError> prepare_job(const std::string& ws, const std::string& exp,
                                           const std::string& name, const std::string& body,
                                           const std::string& default_cluster) {
  std::vector<std::string> problems;
  check_name("workspace", ws, problems);
  check_name("experiment", exp, problems);
  check_name("job name", name, problems);
  ParsedJob parsed = parse_job_document(body);
  for (const auto& d : parsed.diagnostics.errors()) {
    problems.push_back(d.path.empty() ? d.message : d.path + ": " + d.message);
  }
  NewJob job;
  job.workspace = ws;
  job.experiment = exp;
  job.name = name;
  if (!parsed.diagnostics.has_errors()) {
    json root = json::parse(body);
    const bool wrapped = root.contains("properties") && !root["properties"].is_null();
    job.properties = wrapped ? root["properties"] : root;
    if (wrapped && root.contains("$schema")) job.properties["$schema"] = root["$schema"];
    job.cluster = cluster_of(job.properties, default_cluster, problems);
    job.node_count = parsed.spec.node_count;
    job.tool_type = tool_type_of(parsed.spec.toolkit.kind);
  }
  if (!problems.empty()) {
    std::string message = "the job is not valid (" + std::to_string(problems.size()) +
                          (problems.size() == 1 ? " problem):" : " problems):");
    for (const auto& p : problems) message += "\n" + p;
    return bad_request("InvalidJobDocument", message);
  }
  for (const auto& w : parsed.diagnostics.warnings()) {
    job.warnings.push_back(w.path.empty() ? w.message : w.path + ": " + w.message);
  }
  return job;
}

std::optional<ApiError> create_job(State& s, const NewJob& nj, std::int64_t now, Events& events) {
  auto cluster = s.clusters.find(nj.cluster);
  if (cluster == s.clusters.end() || cluster->second.deleting) {
    return bad_request(
        "InvalidJobDocument",
        "the job is not valid (1 problem):\nproperties.cluster: the cluster \"" + nj.cluster +
            (cluster == s.clusters.end() ? "\" does not exist" : "\" is being deleted"));
  }
  const std::string key = job_key(nj.workspace, nj.experiment, nj.name);
  if (auto old = s.jobs.find(key); old != s.jobs.end()) {
    return conflict("JobAlreadyExists", old->second.deleted
                                            ? "the job " + key +
                                                  " is being deleted; its name is free once "
                                                  "its tasks have ended"
                                            : "the job " + key + " already exists");
  }
  JobRecord j;
  j.resource_group = nj.resource_group;
  j.workspace = nj.workspace;
  j.experiment = nj.experiment;
  j.name = nj.name;
  j.uuid = random_uuid();
  j.cluster = nj.cluster;
  j.properties = nj.properties;
  j.node_count = nj.node_count;
  j.tool_type = nj.tool_type;
  j.seq = s.next_job_seq++;
  j.creation_ms = now;
  j.state_ms = now;
  events.push_back("job " + key + ": created (uuid " + j.uuid + ", " +
                   std::to_string(j.node_count) + " node(s), cluster " + j.cluster + ")");
  s.jobs.emplace(key, std::move(j));
  schedule(s, now, events);
  return std::nullopt;
}

std::optional<ApiError> terminate_job(State& s, const std::string& key, std::int64_t now,
                                      bool& changed, Events& events) {
  auto it = s.jobs.find(key);
  if (it == s.jobs.end()) return not_found("JobNotFound", "the job " + key + " does not exist");
  JobRecord& job = it->second;
  changed = false;
  if (is_final_job_state(job.state) || job.terminate) return std::nullopt;
  changed = true;
  job.terminate = true;
  if (job.tasks.empty()) {
    protocol::ExecutionInfo info;
    info.end_time = iso8601_utc(now);
    info.errors.push_back(
        {"JobTerminate", "The job was terminated by the user before it started", {}});
    job.info = info;
    job.state = "failed";
    job.state_ms = now;
    events.push_back("job " + key + ": terminated while queued -> failed");
    return std::nullopt;
  }
  for (auto& t : job.tasks) {
    if (protocol::is_final_task_state(t.state) || t.terminate) continue;
    t.terminate = true;
    auto node = s.nodes.find(t.node_id);
    if (node != s.nodes.end()) bump(node->second);
  }
  events.push_back("job " + key + ": termination requested");
  update_job_state(s, job, now, events);
  return std::nullopt;
}

std::optional<ApiError> delete_job(State& s, const std::string& key, std::int64_t now,
                                   Events& events) {
  auto it = s.jobs.find(key);
  if (it == s.jobs.end() || it->second.deleted) {
    return not_found("JobNotFound", "the job " + key + " does not exist");
  }
  bool changed = false;
  if (auto e = terminate_job(s, key, now, changed, events)) return e;
  it->second.deleted = true;
  events.push_back("job " + key + ": deleted");
  forget_deleted_jobs(s, events);
  return std::nullopt;
}

bool forget_deleted_jobs(State& s, Events& events) {
  std::set<std::string> on_nodes;
  for (const auto& [id, n] : s.nodes) on_nodes.insert(n.tasks.begin(), n.tasks.end());
  bool forgot = false;
  for (auto it = s.jobs.begin(); it != s.jobs.end();) {
    const JobRecord& job = it->second;
    const bool busy = std::any_of(job.tasks.begin(), job.tasks.end(),
                                  [&](const TaskRecord& t) { return on_nodes.count(t.task_id); });
    if (!job.deleted || !is_final_job_state(job.state) || busy) {
      ++it;
      continue;
    }
    events.push_back("job " + it->first + ": forgotten (deleted, and its tasks have ended)");
    it = s.jobs.erase(it);
    forgot = true;
  }
  return forgot;
}

}  // namespace batchai::cp
