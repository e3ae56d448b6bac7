#include "agent/daemon/daemon.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/daemon_log.hpp"
#include "agent/daemon/http_client.hpp"
#include "agent/daemon/node_task.hpp"
#include "agent/daemon/serial_worker.hpp"
#include "agent/daemon/watchdog.hpp"
#include "agent/job/job_site.hpp"
#include "agent/job/layout.hpp"
#include "agent/node/admin_account.hpp"
#include "agent/node/node_volumes.hpp"
#include "agent/node/setup_task.hpp"
#include "common/backoff.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "exec/process_tree.hpp"
#include "heartbeat/gpu_inventory.hpp"
#include "heartbeat/node_facts.hpp"
#include "protocol/messages.hpp"

namespace batchai {

namespace {

constexpr std::int64_t kTickMs = 1000;
// The most the cluster's volumes may take to mount (each volume's attempts, with their bounds);
// the watchdog allows this much while the main loop mounts them (agent/daemon/watchdog.hpp). A
// job's set-up and take-down run on the worker instead (agent/daemon/serial_worker.hpp).
constexpr std::int64_t kLongStepBoundMs = 60LL * 60 * 1000;

class Daemon {
 public:
  explicit Daemon(DaemonConfig config) : cfg_(std::move(config)), boot_id_(boot_id()) {}
  int run();

 private:
  bool register_node(HttpClient& http);
  void poll_loop();
  void reconcile(const protocol::DesiredState& desired);
  void release_finished_tasks();
  void take_down_finished_jobs();
  void settle_tasks_at_stop();
  void send_report_if_changed(HttpClient& http);
  void prepare_node(HttpClient& http);
  bool wait_ms(std::int64_t ms);  // false when stopping
  void load_sequence();
  void save_sequence() const;

  DaemonConfig cfg_;
  std::string boot_id_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<bool> stop_{false};
  std::optional<protocol::DesiredState> desired_;  // guarded by mu_
  bool desired_changed_ = false;                   // guarded by mu_
  protocol::PollSettings poll_;                    // guarded by mu_

  std::map<std::string, NodeTask> tasks_;
  std::set<std::string> wanted_;          // the tasks of the last desired state
  std::set<std::string> missing_once_;    // absent from one desired state: terminated if twice
  std::unique_ptr<SerialWorker> worker_;  // jobs' set-ups and take-downs, off the main loop
  std::int64_t sequence_ = 0;
  nlohmann::json last_acked_;    // the report content the control plane has
  nlohmann::json last_written_;  // the report content in <stateDir>/node-status.json
  std::int64_t next_heartbeat_ms_ = 0;
  std::int64_t started_ms_ = mono_ms();
  std::int64_t next_report_ms_ = 0;
  Backoff report_backoff_;
  std::string node_state_;
  nlohmann::json node_setup_;              // from the registration
  bool preparing_ = true;                  // until the cluster's volumes are mounted
  std::vector<JobError> unusable_errors_;  // non-empty: the node is unusable, and why
  std::vector<JobError> gpu_errors_;       // the GPUs' part of it, from the last check
  GpuInventory gpus_at_start_;
  std::string leaving_;  // the deallocation option once the control plane scales this node down
  std::int64_t cluster_config_version_ = 0;  // of the node_setup_ the node is set up with
  bool reconfigure_ = false;                 // a newer configuration waits for the node to idle
  bool have_desired_ = false;                // wanted_ is the control plane's, not yet empty
  bool leave_cluster(HttpClient& http);
  std::int64_t next_gpu_check_ms_ = 0;
  void check_gpus();
  Watchdog watchdog_ = Watchdog::from_environment();
};

bool Daemon::wait_ms(std::int64_t ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stop_.load(); });
  return !stop_;
}

void Daemon::load_sequence() {
  auto text = read_file(StateLayout(cfg_.state_dir).node_record(), 4096);
  if (!text) return;
  try {
    auto j = nlohmann::json::parse(*text);
    sequence_ = j.at("sequence").get<std::int64_t>();
  } catch (const nlohmann::json::exception&) {
    sequence_ = 0;
  }
  // A report of this run must be newer than any of the last: skip ahead of a lost save.
  sequence_ += 1000;
}

void Daemon::save_sequence() const {
  (void)write_file_atomic(StateLayout(cfg_.state_dir).node_record(),
                          nlohmann::json{{"sequence", sequence_}}.dump() + "\n", 0600);
}

bool Daemon::register_node(HttpClient& http) {
  Backoff backoff;
  protocol::RegisterRequest req = collect_node_facts(cfg_.cluster, boot_id_, BATCHAI_AGENT_VERSION);
  const std::string body = protocol::to_json(req).dump();
  sd_notifyf(0, "STATUS=registering with %s", cfg_.control_plane_url.c_str());
  for (int attempt = 1; !stop_; ++attempt) {
    watchdog_.ping();  // only the main thread registers
    auto resp = http.request("POST", "/v1/nodes/" + cfg_.node_id + "/register", body,
                             cfg_.request_timeout_seconds);
    std::int64_t floor_ms = 0;
    std::string why;
    if (!resp) {
      why = resp.error().message;
    } else if (resp->status == 200) {
      auto r = protocol::register_response_from(resp->body);
      if (r) {
        std::lock_guard lock(mu_);
        poll_ = r->poll;
        node_setup_ = r->node_setup;
        cluster_config_version_ = r->cluster_config_version;
        spdlog::info("registered with {} as node {} of cluster {}", cfg_.control_plane_url,
                     cfg_.node_id, cfg_.cluster);
        return true;
      }
      why = "bad response: " + r.error().message;
    } else {
      why = "the control plane answered " + std::to_string(resp->status);
      if (resp->retry_after_seconds) floor_ms = *resp->retry_after_seconds * 1000LL;
    }
    spdlog::warn("register: {}", why);
    sd_notifyf(0, "STATUS=registering with %s (attempt %d: %s)", cfg_.control_plane_url.c_str(),
               attempt, why.c_str());
    // Waits in steps the watchdog allows; a backoff grows to minutes.
    for (std::int64_t left = backoff.next_ms(floor_ms); left > 0 && !stop_; left -= kTickMs) {
      watchdog_.ping();
      if (!wait_ms(std::min(left, kTickMs))) break;
    }
  }
  return false;
}

void Daemon::poll_loop() {
  auto http = HttpClient::create(cfg_);
  if (!http) return;
  http->set_abort_flag(&stop_);
  Backoff backoff;
  std::int64_t version = 0;
  while (!stop_) {
    protocol::PollSettings poll;
    {
      std::lock_guard lock(mu_);
      poll = poll_;
    }
    auto resp =
        http->request("GET",
                      "/v1/nodes/" + cfg_.node_id + "/desired?after=" + std::to_string(version) +
                          "&wait=" + std::to_string(poll.poll_wait_seconds),
                      "", poll.poll_wait_seconds + cfg_.request_timeout_seconds);
    if (stop_) break;
    std::int64_t delay = poll.min_request_interval_ms;
    if (!resp) {
      spdlog::warn("desired state: {}", resp.error().message);
      delay = backoff.next_ms(delay);
    } else if (resp->status == 304) {
      backoff.reset();
    } else if (resp->status == 200) {
      auto desired = protocol::desired_state_from(resp->body);
      if (!desired) {
        spdlog::warn("desired state: bad response: {}", desired.error().message);
        delay = backoff.next_ms(delay);
      } else {
        backoff.reset();
        version = desired->version;
        std::lock_guard lock(mu_);
        poll_ = desired->poll;
        desired_ = std::move(*desired);
        desired_changed_ = true;
        cv_.notify_all();
      }
    } else {
      spdlog::warn("desired state: the control plane answered {}", resp->status);
      std::int64_t floor_ms = resp->retry_after_seconds ? *resp->retry_after_seconds * 1000LL : 0;
      delay = backoff.next_ms(std::max(delay, floor_ms));
    }
    if (delay > 0 && !wait_ms(delay)) break;
  }
}

void Daemon::prepare_node(HttpClient& http) {
  send_report_if_changed(http);  // "preparing", so the control plane sees the node come up
  gpus_at_start_ = read_gpu_inventory();
  spdlog::info(
      "GPUs: {} ({}{})", gpus_at_start_.gpus.size(), gpus_at_start_.source,
      gpus_at_start_.driver_version.empty() ? "" : ", driver " + gpus_at_start_.driver_version);
  check_gpus();
  sd_notify(0, "STATUS=preparing: mounting the cluster's volumes");
  auto result = [&] {
    auto allowance = watchdog_.allow(kLongStepBoundMs);
    return mount_node_volumes(node_setup_, cfg_);
  }();
  for (const auto& line : result.mounted) spdlog::info("cluster volume {}", line);
  unusable_errors_ = std::move(result.errors);
  // The admin account, before the setup task (which may rely on it).
  if (unusable_errors_.empty()) {
    auto account = admin_account_from(node_setup_);
    Result<std::string> done = std::string();
    if (!account) {
      done = account.error();
    } else if (*account) {
      done = ensure_admin_account(**account, cfg_.account_root);
    }
    if (!done) {
      unusable_errors_.push_back({"AdminAccountFailed", done.error().message, {}});
    } else if (!done->empty()) {
      spdlog::info("admin account: {}", *done);
    }
  }
  // The setup task after the volumes (it may use them), and only on a node that is usable.
  if (unusable_errors_.empty()) {
    sd_notify(0, "STATUS=preparing: running the setup task");
    // The task may run for as long as it needs; the loop below is alive while it waits.
    auto setup = run_setup_task(node_setup_, cfg_, boot_id_, stop_, [this] { watchdog_.ping(); });
    for (const auto& line : setup.log) spdlog::info("{}", line);
    unusable_errors_ = std::move(setup.errors);
  }
  for (const auto& e : unusable_errors_) spdlog::error("node unusable: {}: {}", e.code, e.message);
  preparing_ = false;
}

// A driver that fails, a GPU gone or uncorrectable ECC errors make the node unusable, with the
// reason; checked at start and every gpuCheckSeconds.
void Daemon::check_gpus() {
  if (mono_ms() < next_gpu_check_ms_) return;
  next_gpu_check_ms_ = mono_ms() + cfg_.gpu_check_seconds * 1000LL;
  std::vector<JobError> errors;
  for (const auto& p : gpu_health_problems(gpus_at_start_, read_gpu_inventory())) {
    errors.push_back({"GPUFailure", p, {}});
  }
  if (errors.size() != gpu_errors_.size()) {
    for (const auto& e : errors) spdlog::error("node unusable: {}: {}", e.code, e.message);
  }
  gpu_errors_ = std::move(errors);
}

void Daemon::reconcile(const protocol::DesiredState& desired) {
  // A job's take-down goes before any set-up this desired state brings (the worker keeps the
  // order): after a restart, a job found final but not taken down may share its mount paths
  // with the next job of the same name.
  take_down_finished_jobs();
  if (desired.cluster_config_version && *desired.cluster_config_version > cluster_config_version_ &&
      !reconfigure_) {
    spdlog::info("the cluster's configuration changed (version {}); set-up again once idle",
                 *desired.cluster_config_version);
    reconfigure_ = true;
  }
  if (desired.leave && leaving_.empty()) {
    leaving_ = *desired.leave;
    spdlog::info("leaving the cluster ({})", leaving_);
    // requeue and terminate stop the running jobs (the control plane requeues or fails them);
    // waitforjobcompletion lets them finish. No new job starts either way.
    if (leaving_ != "waitforjobcompletion") {
      for (auto& [id, task] : tasks_) {
        if (!task.is_final()) task.terminate();
      }
    }
  }
  std::set<std::string> wanted;
  for (const auto& a : desired.tasks) {
    JobLogFields fields(a.task_id, a.job_name);
    wanted.insert(a.task_id);
    missing_once_.erase(a.task_id);
    auto it = tasks_.find(a.task_id);
    if (it == tasks_.end() && !leaving_.empty()) {
      spdlog::warn("task {} (job {}): not started, the node is leaving", a.task_id, a.job_name);
      continue;
    }
    if (it == tasks_.end() && (!unusable_errors_.empty() || !gpu_errors_.empty())) {
      spdlog::warn("task {} (job {}): not started, the node is unusable", a.task_id, a.job_name);
      continue;
    }
    if (it == tasks_.end()) {
      spdlog::info("task {} (job {}): setting up", a.task_id, a.job_name);
      it = tasks_.emplace(a.task_id, NodeTask::accept(a, cfg_, *worker_, stop_)).first;
    }
    if (a.terminate && !it->second.is_final()) {
      spdlog::info("task {}: terminating", a.task_id);
      it->second.terminate();
    }
  }
  for (auto& [id, task] : tasks_) {
    if (wanted.count(id) || task.is_final()) continue;
    if (missing_once_.insert(id).second) continue;  // wait for a second desired state to confirm
    JobLogFields fields(id, task.job_name(), task.job_uuid());
    spdlog::info("task {}: no longer wanted by the control plane; terminating", id);
    task.terminate();
  }
  wanted_ = std::move(wanted);
  have_desired_ = true;
}

// A job is taken down (on the worker) as soon as its task is final, as the last report found it:
// the control plane assigns the node's next job only once a report has told it so.
void Daemon::take_down_finished_jobs() {
  for (auto& [id, task] : tasks_) {
    if (task.take_down_due()) task.take_down(*worker_, stop_);
  }
}

// Tasks gone from the desired state after their final state was reported: the control plane has
// them. Once their jobs are taken down, their records are closed.
void Daemon::release_finished_tasks() {
  if (!have_desired_) return;  // after a restart, until the control plane has said
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    NodeTask& task = it->second;
    if (wanted_.count(it->first) || !task.done()) {  // done: final, and taken down
      ++it;
      continue;
    }
    JobLogFields fields(it->first, task.job_name(), task.job_uuid());
    task.forget();
    spdlog::info("task {}: done", it->first);
    it = tasks_.erase(it);
  }
}

// The worker has ended: set-ups the stop interrupted are left for the next agent to do again.
void Daemon::settle_tasks_at_stop() {
  for (auto& [id, task] : tasks_) {
    JobLogFields fields(id, task.job_name(), task.job_uuid());
    if (task.abandon_if_interrupted()) {
      spdlog::info("task {}: set-up interrupted by the stop; the next agent sets it up again", id);
    }
  }
}

void Daemon::send_report_if_changed(HttpClient& http) {
  protocol::NodeReport report;
  report.boot_id = boot_id_;
  bool busy = false;
  std::vector<JobError> stuck;  // processes that cannot be killed make the node unusable
  for (auto& [id, task] : tasks_) {
    auto r = task.report();
    if (!protocol::is_final_task_state(r.state)) busy = true;
    for (const auto& e : r.execution_info.errors) {
      if (e.code == "ProcessesNotKilled" && !protocol::is_final_task_state(r.state)) {
        stuck.push_back(
            {"JobProcessesNotKilled", "task " + id + ": " + e.message, {{"taskId", id}}});
      }
    }
    report.tasks.push_back(std::move(r));
  }
  report.node_state = preparing_ ? "preparing" : busy ? "running" : "idle";
  if (!leaving_.empty()) report.node_state = "leaving";
  if (!unusable_errors_.empty() || !gpu_errors_.empty() || !stuck.empty()) {
    report.node_state = "unusable";
    report.errors = unusable_errors_;
    report.errors.insert(report.errors.end(), gpu_errors_.begin(), gpu_errors_.end());
    report.errors.insert(report.errors.end(), stuck.begin(), stuck.end());
  }
  if (report.node_state != node_state_) {
    node_state_ = report.node_state;
    spdlog::info("node state: {}", node_state_);
    sd_notifyf(0, "STATUS=%s", node_state_.c_str());
  }
  nlohmann::json content = protocol::to_json(report);
  content.erase("sequence");
  // The heartbeat: the node's facts go with every heartbeatSeconds, not into the comparison
  // (load and free disk change all the time).
  const bool heartbeat_due = mono_ms() >= next_heartbeat_ms_;
  if (content != last_written_) {
    // For `batchai-agent status` on the node.
    nlohmann::json local = content;
    local["updated"] = iso8601_utc(wall_ms());
    local.erase("bootId");
    (void)write_file_atomic(StateLayout(cfg_.state_dir).node_status(), local.dump(2) + "\n", 0600);
    last_written_ = content;
  }
  if ((content == last_acked_ && !heartbeat_due) || mono_ms() < next_report_ms_) return;
  report.facts = node_facts_now(cfg_.root);
  report.facts["agent"] = {{"version", BATCHAI_AGENT_VERSION},
                           {"uptimeSeconds", (mono_ms() - started_ms_) / 1000},
                           {"tasks", tasks_.size()}};
  report.sequence = ++sequence_;
  save_sequence();
  auto resp = http.request("PUT", "/v1/nodes/" + cfg_.node_id + "/state",
                           protocol::to_json(report).dump(), cfg_.request_timeout_seconds);
  if (resp && resp->status == 200) {
    last_acked_ = content;
    next_heartbeat_ms_ = mono_ms() + cfg_.heartbeat_seconds * 1000LL;
    report_backoff_.reset();
    next_report_ms_ = 0;
    return;
  }
  std::int64_t floor_ms = 0;
  if (!resp) {
    spdlog::warn("state report: {}", resp.error().message);
  } else {
    spdlog::warn("state report: the control plane answered {}", resp->status);
    if (resp->retry_after_seconds) floor_ms = *resp->retry_after_seconds * 1000LL;
  }
  next_report_ms_ = mono_ms() + report_backoff_.next_ms(floor_ms);
}

// Once leaving, with no task left and the last report acknowledged, the node tells the control
// plane it is gone and the agent ends.
bool Daemon::leave_cluster(HttpClient& http) {
  if (leaving_.empty() || !tasks_.empty() || next_report_ms_ != 0) return false;
  auto resp = http.request("DELETE", "/v1/nodes/" + cfg_.node_id, "", cfg_.request_timeout_seconds);
  if (!resp || (resp->status != 204 && resp->status != 404)) {
    spdlog::warn("leaving: {}", resp ? "the control plane answered " + std::to_string(resp->status)
                                     : resp.error().message);
    return false;
  }
  spdlog::info("left the cluster ({})", leaving_);
  sd_notify(0, "STATUS=left the cluster");
  return true;
}

int Daemon::run() {
  if (auto s = make_dirs(StateLayout(cfg_.state_dir).jobs_dir(), 0700); !s) {
    spdlog::error("{}", s.error().message);
    return 1;
  }
  ::chmod(cfg_.state_dir.c_str(), 0700);
  load_sequence();
  for (auto& t : NodeTask::recover(cfg_)) {
    JobLogFields fields(t.task_id(), t.job_name(), t.job_uuid());
    spdlog::info("task {}: found again after a restart", t.task_id());
    tasks_.emplace(t.task_id(), std::move(t));
  }
  if (tasks_.empty()) {
    // No job of this node runs: job-level mounts and credentials files below the roots are
    // leftovers of an agent that died, and go now rather than before the next job.
    for (const auto& w : clean_leftovers(make_job_layout(cfg_.root, JobNames{}),
                                         {cfg_.root, cfg_.storage, cfg_.docker_socket})) {
      spdlog::warn("leftovers: {}", w);
    }
  }
  // Termination of the agent: it stops; the jobs keep running under their supervisors.
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread signals([&] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == SIGHUP) continue;
      spdlog::info("signal {}: stopping; running jobs keep running", sig);
      stop_ = true;
      cv_.notify_all();
      return;
    }
  });
  signals.detach();

  auto http = HttpClient::create(cfg_);
  if (!http) {
    spdlog::error("{}", http.error().message);
    return 1;
  }
  http->set_abort_flag(&stop_);
  {
    // A turn of the loop may wait for one control-plane request (and a tick).
    std::string why;
    watchdog_.ensure_at_least((2ULL * cfg_.request_timeout_seconds + 10) * 1000000ULL, &why);
    if (!why.empty()) spdlog::warn("watchdog: {}", why);
  }
  if (!register_node(*http)) return 0;
  // Ready: registered, and the tasks of the last run found again.
  sd_notify(0, "READY=1\nSTATUS=preparing");
  prepare_node(*http);
  worker_ = std::make_unique<SerialWorker>();
  std::thread poller([this] { poll_loop(); });

  while (!stop_) {
    std::optional<protocol::DesiredState> desired;
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(kTickMs),
                   [&] { return stop_.load() || desired_changed_; });
      if (desired_changed_) {
        desired = desired_;
        desired_changed_ = false;
      }
    }
    if (stop_) break;
    if (desired) reconcile(*desired);
    check_gpus();
    send_report_if_changed(*http);  // reads every task's status once per turn
    take_down_finished_jobs();
    release_finished_tasks();
    if (reconfigure_ && tasks_.empty() && leaving_.empty()) {
      // Register again for the new nodeSetup, then the set-up as at start (volumes no longer
      // wanted come down, new ones go up; the setup task runs for the new configuration).
      reconfigure_ = false;
      preparing_ = true;
      if (!register_node(*http)) break;
      prepare_node(*http);
    }
    if (leave_cluster(*http)) {
      stop_ = true;
      cv_.notify_all();
      break;
    }
    watchdog_.ping();
  }
  sd_notify(0, "STOPPING=1");
  // A set-up under way stops at its next step (stop_ is set) and undoes itself; queued steps
  // end at once. A mount or a pull under way is let finish, with the watchdog served meanwhile
  // (systemd's stop timeout still bounds it: the next agent then sets the task up again).
  while (!worker_->wait_drained_for(kTickMs)) watchdog_.ping();
  worker_.reset();
  settle_tasks_at_stop();
  poller.join();
  return 0;
}

}  // namespace

int run_daemon(const std::string& config_path) {
  init_daemon_log("");
  Diagnostics d;
  DaemonConfig config = load_daemon_config(config_path, d);
  for (const auto& w : d.warnings())
    spdlog::warn("config {}: {}", config_path, w.path + ": " + w.message);
  if (d.has_errors()) {
    for (const auto& e : d.errors()) {
      spdlog::error("config {}: {}", config_path,
                    e.path.empty() ? e.message : e.path + ": " + e.message);
    }
    return 2;
  }
  init_daemon_log(config.node_id);
  if (config.allow_insecure_http && config.control_plane_url.rfind("http://", 0) == 0) {
    spdlog::warn("plain http to {}: the channel is neither encrypted nor authenticated",
                 config.control_plane_url);
  }
  curl_global_init_once();
  Daemon daemon(std::move(config));
  return daemon.run();
}

}  // namespace batchai
