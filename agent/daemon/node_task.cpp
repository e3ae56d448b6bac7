#include "agent/daemon/node_task.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <exception>
#include <memory>

#include "agent/daemon/daemon_log.hpp"
#include "agent/job/job_container.hpp"
#include "agent/job/job_site.hpp"
#include "agent/job/job_ssh.hpp"
#include "common/fs.hpp"
#include "common/text_pattern.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"
#include "common/uuid.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/process_tree.hpp"

namespace batchai {

using nlohmann::json;

namespace {

// The job's uuid is the last part of its output path segment when that is a uuid.
std::string job_uuid_of(const std::string& segment) {
  static const TextPattern uuid_re("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  std::string last = segment.substr(segment.rfind('/') + 1);
  return uuid_re.full_match(last) ? last : random_uuid();
}

}  // namespace

std::string NodeTask::record_path() const {
  return StateLayout(config_.state_dir).task_record(job_uuid_);
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
  if (lost_end_ms_ > 0) {
    j["lostSupervisor"] = {
        {"startMs", lost_start_ms_}, {"endMs", lost_end_ms_}, {"cgroup", lost_cgroup_}};
  }
  (void)write_file_atomic(record_path(), j.dump(2) + "\n", 0600);
}

NodeTask NodeTask::accept(const protocol::TaskAssignment& a, const DaemonConfig& config,
                          SerialWorker& worker, const std::atomic<bool>& agent_stopping) {
  NodeTask t;
  t.task_id_ = a.task_id;
  t.config_ = config;
  t.job_uuid_ = job_uuid_of(a.output_segment);
  t.names_.workspace = a.workspace;
  t.names_.experiment = a.experiment;
  t.names_.job = a.job_name;
  t.names_.job_uuid = t.job_uuid_;
  t.created_ms_ = wall_ms();
  const StateLayout state(config.state_dir);
  if (auto s = make_dirs(state.jobs_dir(), 0700); s)
    (void)make_dirs(state.job_dir(t.job_uuid_), 0700);
  t.save();  // intent first: a restart finds the task even if the agent dies during the set-up
  auto work = std::make_shared<Work>();
  t.work_ = work;
  worker.post([work, a, config, names = t.names_, created = t.created_ms_, &agent_stopping] {
    JobLogFields fields(a.task_id, a.job_name, names.job_uuid);
    try {
      work->result = start_assigned_task(a, config, names, created, [&] {
        if (work->terminate) return kStoppedByTerminate;
        return agent_stopping ? kStoppedByAgentStop : 0;
      });
    } catch (const std::exception& e) {  // a bug: the task fails, the agent goes on
      work->result = {
          JobError{"JobSetupFailed", std::string("internal error: ") + e.what(), {}}, 0, 0, {}};
    }
    work->done.store(true, std::memory_order_release);
  });
  return t;
}

std::vector<NodeTask> NodeTask::recover(const DaemonConfig& config) {
  std::vector<NodeTask> out;
  const StateLayout state(config.state_dir);
  const std::string jobs = state.jobs_dir();
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(jobs.c_str()), ::closedir);
  if (!dir) return out;
  while (dirent* e = ::readdir(dir.get())) {
    if (e->d_name[0] == '.') continue;
    auto text = read_file(state.task_record(e->d_name), 1 << 20);
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
      t.status_expected_since_ms_ = wall_ms();
      if (j.contains("setupError")) {
        auto info = protocol::execution_info_from(json{{"errors", json::array({j["setupError"]})}});
        if (info && !info->errors.empty()) t.setup_error_ = info->errors[0];
      }
      if (j.contains("lostSupervisor")) {
        const json& lost = j["lostSupervisor"];
        t.lost_start_ms_ = lost.at("startMs").get<std::int64_t>();
        t.lost_end_ms_ = lost.at("endMs").get<std::int64_t>();
        t.lost_cgroup_ = lost.at("cgroup").get<std::string>();
      }
      if (t.set_up_cut_off()) {
        spdlog::info(
            "task {}: its set-up was cut off by the end of the last agent; it is set up "
            "again if the control plane still wants it",
            t.task_id_);
        t.abandon();
        continue;
      }
      out.push_back(std::move(t));
    } catch (const json::exception&) {
      continue;  // a damaged record: nothing to recover
    }
  }
  return out;
}

// The agent ended (killed, or stopped while a mount or a pull went on) between recording the
// task and its supervisor's first status: no status, no error, and no supervisor holds the node
// root's lock (each holds it for its job's life, from before its first status). What the set-up
// had done is cleaned before the next job (clean_leftovers).
bool NodeTask::set_up_cut_off() const {
  if (setup_error_ || taken_down_ ||
      ::access(StateLayout(config_.state_dir).job_status(job_uuid_).c_str(), F_OK) == 0) {
    return false;
  }
  UniqueFd lock(::open(node_root_lock_path(config_.root).c_str(), O_RDWR | O_CLOEXEC));
  if (!lock.valid()) return errno == ENOENT;
  return ::flock(lock.get(), LOCK_EX | LOCK_NB) == 0;  // released as the fd closes
}

void NodeTask::abandon() {
  // The job's keys and environment go with the set-up: the next agent writes them again.
  for (const auto& w : remove_job_ssh(StateLayout(config_.state_dir).job_ssh(job_uuid_))) {
    spdlog::warn("task {}: {}", task_id_, w);
  }
  ::rename(record_path().c_str(), StateLayout(config_.state_dir).task_abandoned(job_uuid_).c_str());
}

bool NodeTask::supervisor_alive() const {
  if (!last_status_) return false;
  const auto& s = *last_status_;
  return s.boot_id == boot_id() && s.supervisor_pid > 0 &&
         process_start_ticks(s.supervisor_pid) == s.supervisor_start_ticks;
}

// Returns whether a terminate() waits for the set-up that just ended.
bool NodeTask::take_in_finished_work() {
  if (!work_ || !work_->done.load(std::memory_order_acquire)) return false;
  const std::shared_ptr<Work> work = std::move(work_);
  if (!work->set_up) {
    // A take-down the agent's stop cut short is done again by the next agent.
    if (work->result.interrupted_by == 0) {
      for (const auto& w : work->warnings) spdlog::warn("task {}: {}", task_id_, w);
      taken_down_ = true;
      save();
    }
    return false;
  }
  for (const auto& w : work->result.warnings) spdlog::warn("task {}: {}", task_id_, w);
  if (work->result.error) {
    setup_error_ = work->result.error;
    spdlog::warn("task {}: {}: {}", task_id_, setup_error_->code, setup_error_->message);
    save();
    return false;
  }
  child_ = work->result.supervisor;
  status_expected_since_ms_ = wall_ms();
  spdlog::info("task {}: set up; supervisor {} runs the job", task_id_, child_);
  return work->terminate.load();
}

protocol::TaskReport NodeTask::read_report() {
  protocol::TaskReport r;
  r.task_id = task_id_;
  r.execution_info.start_time = iso8601_utc(created_ms_);
  if (work_ && work_->set_up) {
    r.state = "running";  // being set up
    return r;
  }
  if (child_ > 0) {
    pid_t reaped = ::waitpid(child_, nullptr, WNOHANG);
    if (reaped == child_ || (reaped < 0 && errno == ECHILD)) child_ = 0;
  }
  if (setup_error_) {
    remove_lost_cgroup();
    r.state = "failed";
    if (lost_end_ms_ > 0) r.execution_info.start_time = iso8601_utc(lost_start_ms_);
    r.execution_info.end_time = iso8601_utc(lost_end_ms_ > 0 ? lost_end_ms_ : created_ms_);
    r.execution_info.errors = {*setup_error_};
    return r;
  }
  auto status = read_status(StateLayout(config_.state_dir).job_status(job_uuid_));
  if (status) last_status_ = std::move(*status);
  if (!last_status_) {
    // The supervisor has not written its first status yet (or never will).
    if (wall_ms() - status_expected_since_ms_ > 60000) {
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
    fail_lost_supervisor(s);
    return read_report();
  }
  r.state = to_string(s.state);
  if (final) r.execution_info.end_time = iso8601_utc(s.end_ms);
  r.execution_info.exit_code = s.exit_code;
  r.execution_info.errors = s.errors;
  return r;
}

// The supervisor is gone without a final word: the job failed, from its real start to now, and
// whatever it left behind goes (its processes at once, its cgroup once they have ended).
void NodeTask::fail_lost_supervisor(const JobStatus& last) {
  if (!last.cgroup.empty()) JobCgroup::existing(last.cgroup).kill_all();
  lost_start_ms_ = last.start_ms > 0 ? last.start_ms : created_ms_;
  lost_end_ms_ = wall_ms();
  lost_cgroup_ = last.cgroup;
  setup_error_ = JobError{"JobFailed", "the job's supervisor ended without a final status", {}};
  spdlog::warn("task {}: its supervisor ended without a final status: the job failed", task_id_);
  save();
}

// Killed processes leave their cgroup a moment later: tried again on each report until gone.
void NodeTask::remove_lost_cgroup() {
  if (lost_cgroup_.empty()) return;
  const JobCgroup cgroup = JobCgroup::existing(lost_cgroup_);
  if (cgroup.populated()) {
    cgroup.kill_all();
    return;
  }
  if (!cgroup.remove()) return;  // quietly: a process in uninterruptible sleep holds it a while
  spdlog::info("task {}: the job's cgroup {} is removed", task_id_, lost_cgroup_);
  lost_cgroup_.clear();
  save();
}

protocol::TaskReport NodeTask::report() {
  if (take_in_finished_work()) terminate();
  protocol::TaskReport r = read_report();
  last_state_ = r.state;
  return r;
}

bool NodeTask::is_final() {
  return protocol::is_final_task_state(report().state);
}

void NodeTask::terminate() {
  signal_supervisor(SIGTERM);
}

void NodeTask::release() {
  signal_supervisor(SIGUSR1);
}

void NodeTask::signal_supervisor(int signal) {
  if (terminate_sent_ || setup_error_) return;
  if (work_ && work_->set_up) {
    // The set-up stops at its next step; one that ends first has report() call this again.
    work_->terminate = true;
    return;
  }
  report();
  // A supervisor this agent started may not have written its status yet: its pid is known.
  // (It holds SIGTERM and SIGUSR1 blocked until it can handle them.)
  pid_t pid = child_ > 0 ? child_ : supervisor_alive() ? last_status_->supervisor_pid : 0;
  if (pid > 0) ::kill(pid, signal);
  terminate_sent_ = true;
  save();
}

void NodeTask::take_down(SerialWorker& worker, const std::atomic<bool>& agent_stopping) {
  if (!take_down_due()) return;
  auto work = std::make_shared<Work>();
  work->set_up = false;
  work_ = work;
  // By the uuid's label: a container job's container is removed even if the agent died
  // between creating and recording it; for a bare job the engine has none so labelled.
  const SiteSettings site{config_.root, config_.storage, config_.docker_socket,
                          config_.container_input_roots};
  worker.post([work, site, container_job_uuid = names_.job_uuid,
               layout = make_job_layout(config_.root, names_),
               ssh_dir = StateLayout(config_.state_dir).job_ssh(job_uuid_), &agent_stopping] {
    if (agent_stopping) {
      work->result.interrupted_by = kStoppedByAgentStop;
    } else {
      try {
        work->warnings = take_down_job(layout, site, container_job_uuid);
        for (auto& w : remove_job_ssh(ssh_dir)) work->warnings.push_back(std::move(w));
      } catch (const std::exception& e) {  // a bug: said, and the take-down counts as done
        work->warnings = {std::string("internal error: ") + e.what()};
      }
    }
    work->done.store(true, std::memory_order_release);
  });
}

bool NodeTask::abandon_if_interrupted() {
  if (!work_ || !work_->done.load(std::memory_order_acquire) || !work_->set_up ||
      work_->result.interrupted_by != kStoppedByAgentStop) {
    report();  // what did end is recorded
    return false;
  }
  work_.reset();
  abandon();
  return true;
}

void NodeTask::forget() {
  ::rename(record_path().c_str(), StateLayout(config_.state_dir).task_done(job_uuid_).c_str());
}

}  // namespace batchai
