#include "agent/node_task.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <memory>
#include <regex>

#include "agent/job_container.hpp"
#include "agent/job_parser.hpp"
#include "agent/job_rules.hpp"
#include "agent/job_site.hpp"
#include "agent/launch_planner.hpp"
#include "agent/state_paths.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"
#include "common/uuid.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/process_tree.hpp"
#include "exec/supervisor_launcher.hpp"
#include "heartbeat/gpu_inventory.hpp"

namespace batchai {

using nlohmann::json;

namespace {

// The job's uuid is the last part of its output path segment when that is a uuid.
std::string job_uuid_of(const std::string& segment) {
  static const std::regex uuid_re("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  std::string last = segment.substr(segment.rfind('/') + 1);
  return std::regex_match(last, uuid_re) ? last : random_uuid();
}

}  // namespace

std::string NodeTask::record_path() const {
  return join_path(job_state_dir(config_.state_dir, job_uuid_), "task.json");
}

void NodeTask::save() const {
  json j = {{"taskId", task_id_},
            {"jobUuid", job_uuid_},
            {"workspace", names_.workspace},
            {"experiment", names_.experiment},
            {"jobName", names_.job},
            {"createdMs", created_ms_},
            {"takenDown", taken_down_},
            {"terminateSent", terminate_sent_}};
  if (setup_error_) j["setupError"] = protocol::to_json(*setup_error_);
  (void)write_file_atomic(record_path(), j.dump(2) + "\n", 0600);
}

NodeTask NodeTask::start(const protocol::TaskAssignment& a, const DaemonConfig& config) {
  NodeTask t;
  t.task_id_ = a.task_id;
  t.config_ = config;
  t.job_uuid_ = job_uuid_of(a.output_segment);
  t.names_.workspace = a.workspace;
  t.names_.experiment = a.experiment;
  t.names_.job = a.job_name;
  t.names_.job_uuid = t.job_uuid_;
  t.created_ms_ = wall_ms();
  const std::string state = job_state_dir(config.state_dir, t.job_uuid_);
  if (auto s = make_dirs(join_path(config.state_dir, "jobs"), 0700); s)
    (void)make_dirs(state, 0700);
  auto fail = [&](JobError e) {
    t.setup_error_ = std::move(e);
    t.save();
    return t;
  };

  ParsedJob parsed = parse_job_document(a.job.dump());
  Diagnostics& d = parsed.diagnostics;
  for (const auto& name : {a.workspace, a.experiment, a.job_name}) {
    if (auto why = check_resource_name(name); !why.empty()) d.error("assignment", why);
  }
  PlanContext ctx;
  ctx.names = t.names_;
  // The segment comes from the control plane: <sub>/<rg>/workspaces/<ws>/experiments/...
  std::string seg = a.output_segment;
  ctx.layout = make_job_layout(config.root, t.names_);
  if (!seg.empty() && seg.find("..") == std::string::npos && seg.front() != '/') {
    ctx.layout.segment = seg;
  }
  ctx.base_env = JobEnvironment::node_base();
  for (const auto& [name, value] : config.environment) ctx.base_env.set(name, value);
  ctx.gpu_count = static_cast<int>(read_gpu_inventory().gpus.size());
  ctx.node_ip = a.hosts.empty() ? "127.0.0.1"
                                : a.hosts[std::min<std::size_t>(a.task_index, a.hosts.size() - 1)];
  ctx.start_wall_ms = t.created_ms_;
  ctx.container_socket = config.docker_socket;
  ctx.container_name = job_container_name(t.job_uuid_);
  std::optional<PlannedJob> planned;
  if (!d.has_errors()) planned = plan_job(parsed.spec, ctx, d);
  if (!planned) {
    JobError e{"InvalidJobSpec", "The job document is not valid on this node", {}};
    for (const auto& p : d.errors())
      e.details.push_back({p.path.empty() ? "job" : p.path, p.message});
    return fail(std::move(e));
  }
  PlannedJob& job = *planned;
  job.plan.grace_ms = static_cast<std::int64_t>(config.kill_grace_seconds) * 1000;
  job.plan.unkillable_after_ms = static_cast<std::int64_t>(config.unkillable_seconds) * 1000;
  job.plan.end_with_parent = false;  // the job outlives the agent
  if (auto cg = own_cgroup_dir()) job.plan.cgroup_parent = *cg;

  // The node root's lock, as run-job takes it: one job at a time; the supervisor keeps it.
  if (auto s = make_dirs(config.root, 0755); !s) {
    return fail({"JobSetupFailed", s.error().message, {}});
  }
  UniqueFd lock(
      ::open(join_path(config.root, ".run-job.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) {
    return fail({"JobSetupFailed",
                 "cannot open the lock of " + config.root + ": " + errno_text(errno),
                 {}});
  }
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return fail({"NodeBusy", "another job holds this node's root " + config.root, {}});
  }
  const SiteSettings site{config.root, config.storage, config.docker_socket};
  clean_leftovers(job.layout, site);
  t.save();  // intent first: a restart finds the task even if we die right here
  if (auto e = set_up_job(job,
                          "job " + a.job_name + " (" + t.job_uuid_ + ") task " +
                              std::to_string(a.task_index) + " accepted by the agent",
                          site, nullptr, nullptr)) {
    return fail(*e);
  }
  auto pid = start_supervisor(state, job.plan, lock.get());
  if (!pid) {
    take_down_job(job.layout, site, job.container ? job.container_name : "");
    return fail({"JobSetupFailed", "cannot start the supervisor: " + pid.error().message, {}});
  }
  return t;
}

std::vector<NodeTask> NodeTask::recover(const DaemonConfig& config) {
  std::vector<NodeTask> out;
  const std::string jobs = join_path(config.state_dir, "jobs");
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(jobs.c_str()), ::closedir);
  if (!dir) return out;
  while (dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] == '.') continue;
    auto text = read_file(join_path(join_path(jobs, e->d_name), "task.json"), 1 << 20);
    if (!text) continue;  // closed (task.done) or not a daemon task
    try {
      json j = json::parse(*text);
      NodeTask t;
      t.config_ = config;
      t.task_id_ = j.at("taskId").get<std::string>();
      t.job_uuid_ = j.at("jobUuid").get<std::string>();
      if (t.job_uuid_ != e->d_name) continue;
      t.names_.workspace = j.at("workspace").get<std::string>();
      t.names_.experiment = j.at("experiment").get<std::string>();
      t.names_.job = j.at("jobName").get<std::string>();
      t.names_.job_uuid = t.job_uuid_;
      t.created_ms_ = j.at("createdMs").get<std::int64_t>();
      t.taken_down_ = j.at("takenDown").get<bool>();
      t.terminate_sent_ = j.at("terminateSent").get<bool>();
      if (j.contains("setupError")) {
        auto info = protocol::execution_info_from(json{{"errors", json::array({j["setupError"]})}});
        if (info && !info->errors.empty()) t.setup_error_ = info->errors[0];
      }
      out.push_back(std::move(t));
    } catch (const json::exception&) {
      continue;  // a damaged record: nothing to recover
    }
  }
  return out;
}

bool NodeTask::supervisor_alive() const {
  if (!last_status_) return false;
  const auto& s = *last_status_;
  return s.boot_id == boot_id() && s.supervisor_pid > 0 &&
         process_start_ticks(s.supervisor_pid) == s.supervisor_start_ticks;
}

protocol::TaskReport NodeTask::read_report() {
  protocol::TaskReport r;
  r.task_id = task_id_;
  r.execution_info.start_time = iso8601_utc(created_ms_);
  if (setup_error_) {
    r.state = "failed";
    r.execution_info.end_time = iso8601_utc(created_ms_);
    r.execution_info.errors = {*setup_error_};
    return r;
  }
  auto status = read_status(job_status_file(config_.state_dir, job_uuid_));
  if (status) last_status_ = std::move(*status);
  if (!last_status_) {
    // The supervisor has not written its first status yet (or never will).
    if (wall_ms() - created_ms_ > 60000) {
      setup_error_ = JobError{"JobFailed", "the job's supervisor never started", {}};
      save();
      return read_report();
    }
    r.state = "running";
    return r;
  }
  const JobStatus& s = *last_status_;
  r.execution_info.start_time = iso8601_utc(s.start_ms);
  bool final = s.state == JobState::kSucceeded || s.state == JobState::kFailed;
  if (!final && !supervisor_alive()) {
    // Gone without a final word: whatever it left behind goes too.
    if (!s.cgroup.empty()) JobCgroup::existing(s.cgroup).kill_all();
    setup_error_ = JobError{"JobFailed", "the job's supervisor ended without a final status", {}};
    save();
    return read_report();
  }
  r.state = to_string(s.state);
  if (final) r.execution_info.end_time = iso8601_utc(s.end_ms);
  r.execution_info.exit_code = s.exit_code;
  r.execution_info.errors = s.errors;
  return r;
}

protocol::TaskReport NodeTask::report() {
  protocol::TaskReport r = read_report();
  last_state_ = r.state;
  return r;
}

bool NodeTask::is_final() {
  return protocol::is_final_task_state(report().state);
}

void NodeTask::terminate() {
  if (terminate_sent_ || setup_error_) return;
  report();
  if (supervisor_alive()) ::kill(last_status_->supervisor_pid, SIGTERM);
  terminate_sent_ = true;
  save();
}

std::vector<std::string> NodeTask::finish() {
  if (!take_down_due()) return {};
  // The name is the uuid's: a container job's container is removed even if the agent died
  // between creating and recording it; for a bare job the engine has none of that name.
  const SiteSettings site{config_.root, config_.storage, config_.docker_socket};
  auto warnings = take_down_job(make_job_layout(config_.root, names_), site,
                                ::access(config_.docker_socket.c_str(), F_OK) == 0
                                    ? job_container_name(names_.job_uuid)
                                    : "");
  taken_down_ = true;
  save();
  return warnings;
}

void NodeTask::forget() {
  ::rename(record_path().c_str(),
           join_path(job_state_dir(config_.state_dir, job_uuid_), "task.done").c_str());
}

}  // namespace batchai
