#include "agent/daemon/daemon.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <spdlog/spdlog.h>
#include <memory>
#include <set>
#include <thread>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/daemon_log.hpp"
#include "agent/daemon/desired_state_poller.hpp"
#include "agent/daemon/http_client.hpp"
#include "agent/daemon/membership.hpp"
#include "agent/daemon/node_preparation.hpp"
#include "agent/daemon/node_tasks.hpp"
#include "agent/daemon/reconcile.hpp"
#include "agent/daemon/reporter.hpp"
#include "agent/daemon/serial_worker.hpp"
#include "agent/daemon/stop_signal.hpp"
#include "agent/daemon/watchdog.hpp"
#include "agent/job/job_site.hpp"
#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "exec/process_tree.hpp"
#include "heartbeat/gpu_health.hpp"
#include "heartbeat/node_facts.hpp"
#include "heartbeat/node_report.hpp"
#include "protocol/messages.hpp"

namespace batchai {

namespace {

constexpr std::int64_t kTickMs = 1000;

// The daemon's main loop wires its parts: membership (register, leave), the node's preparation,
// the desired-state poller, reconcile and the node's tasks, the GPUs' health, the reporter. Each
// turn: take in a new desired state, check the GPUs, report, take finished jobs down, release
// what the control plane has, and set up again or leave when that is due.
class Daemon {
 public:
  explicit Daemon(DaemonConfig config)
      : cfg_(std::move(config)),
        boot_id_(boot_id()),
        started_ms_(mono_ms()),
        poller_(cfg_, stop_),
        reporter_(
            cfg_, [this] { return facts(); }, mono_ms),
        tasks_(cfg_, stop_.flag()),
        gpus_(cfg_.gpu_check_seconds) {}
  // An exception out of run() must not leave the poller's thread waiting for a stop forever.
  ~Daemon() { stop_.request(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  int run();

 private:
  bool start();
  void handle_stop_signals();
  bool register_node();
  void prepare();
  void turn(const std::optional<protocol::DesiredState>& desired);
  void reconcile(const protocol::DesiredState& desired);
  void report();
  bool leave_if_done();
  void stop_worker();
  nlohmann::json facts() const;
  bool pause_ms(std::int64_t ms);  // false when stopping

  DaemonConfig cfg_;
  std::string boot_id_;
  std::int64_t started_ms_;
  StopSignal stop_;
  Watchdog watchdog_ = Watchdog::from_environment();
  std::unique_ptr<HttpClient> http_;
  DesiredStatePoller poller_;
  Reporter reporter_;
  NodeTasks tasks_;
  std::unique_ptr<SerialWorker> worker_;  // jobs' set-ups and take-downs, off the main loop
  GpuHealth gpus_;
  NodeCondition condition_{true, false, {}, {}};  // preparing until the set-up is done
  nlohmann::json node_setup_;                     // from the registration
  std::int64_t cluster_config_version_ = 0;       // of the node_setup_ the node is set up with
  std::string leaving_;  // the deallocation option once the control plane scales this node down
  bool reconfigure_ = false;            // a newer configuration waits for the node to idle
  std::set<std::string> missing_once_;  // absent from one desired state: terminated if twice
};

bool Daemon::pause_ms(std::int64_t ms) {
  // In steps the watchdog allows: a backoff grows to minutes.
  for (std::int64_t left = ms; left > 0; left -= kTickMs) {
    watchdog_.ping();
    if (!stop_.wait_ms(std::min(left, kTickMs))) return false;
  }
  return !stop_.requested();
}

nlohmann::json Daemon::facts() const {
  nlohmann::json f = node_facts_now(cfg_.root);
  f["agent"] = {{"version", BATCHAI_AGENT_VERSION},
                {"uptimeSeconds", (mono_ms() - started_ms_) / 1000},
                {"tasks", tasks_.size()}};
  return f;
}

bool Daemon::register_node() {
  watchdog_.ping();
  auto registered = batchai::register_node(
      *http_, cfg_, boot_id_, [this](std::int64_t ms) { return pause_ms(ms); },
      [](const std::string& status) { sd_notifyf(0, "STATUS=%s", status.c_str()); });
  if (!registered) return false;
  poller_.set_poll(registered->poll);
  node_setup_ = registered->node_setup;
  cluster_config_version_ = registered->cluster_config_version;
  return true;
}

// While preparing the node says so, so that the control plane sees it come up; what fails
// makes it unusable, with the reason.
void Daemon::prepare() {
  // An agent restarted in the same boot finds the node prepared for this configuration: it
  // checks the set-up again (mounts, the setup task's record) without saying preparing.
  condition_.preparing = !prepared_in_this_boot(node_setup_, cfg_, boot_id_);
  report();
  const GpuInventory& gpus = gpus_.start();
  spdlog::info("GPUs: {} ({}{})", gpus.gpus.size(), gpus.source,
               gpus.driver_version.empty() ? "" : ", driver " + gpus.driver_version);
  for (const auto& e : gpus_.errors()) spdlog::error("node unusable: {}: {}", e.code, e.message);
  condition_.setup_errors = prepare_node(node_setup_, cfg_, boot_id_, stop_.flag(), watchdog_);
  condition_.preparing = false;
}

void Daemon::reconcile(const protocol::DesiredState& desired) {
  // A job's take-down goes before any set-up this desired state brings (the worker keeps the
  // order): after a restart, a job found final but not taken down may share its mount paths
  // with the next job of the same name.
  tasks_.take_down_finished(*worker_);
  NodeAdmission node;
  node.leaving = leaving_;
  node.unusable = !condition_.setup_errors.empty() || !gpus_.errors().empty();
  node.cluster_config_version = cluster_config_version_;
  node.reconfigure_pending = reconfigure_;
  node.final_by_task = tasks_.final_by_task();
  ReconcileDecision decision = decide_reconcile(desired, node, missing_once_);
  if (decision.reconfigure) {
    spdlog::info("the cluster's configuration changed (version {}); set-up again once idle",
                 *desired.cluster_config_version);
    reconfigure_ = true;
  }
  if (decision.leave) {
    leaving_ = *decision.leave;
    condition_.leaving = true;
    spdlog::info("leaving the cluster ({})", leaving_);
  }
  tasks_.apply(decision, desired, *worker_);
}

void Daemon::report() {
  condition_.gpu_errors = gpus_.errors();
  reporter_.control_plane_answered(poller_.answered_ms());
  reporter_.send_if_changed(*http_, assemble_node_report(boot_id_, condition_, tasks_.reports()));
}

// Once leaving, with no task left and the last report acknowledged, the node tells the control
// plane it is gone and the agent ends.
bool Daemon::leave_if_done() {
  if (leaving_.empty() || !tasks_.empty() || !reporter_.acknowledged()) return false;
  if (!say_node_gone(*http_, cfg_, leaving_)) return false;
  sd_notify(0, "STATUS=left the cluster");
  return true;
}

void Daemon::turn(const std::optional<protocol::DesiredState>& desired) {
  if (desired) reconcile(*desired);
  if (gpus_.check_if_due(mono_ms())) {
    for (const auto& e : gpus_.errors()) spdlog::error("node unusable: {}: {}", e.code, e.message);
  }
  report();  // reads every task's status once per turn
  tasks_.take_down_finished(*worker_);
  tasks_.release_finished();
  if (reconfigure_ && tasks_.empty() && leaving_.empty()) {
    // Register again for the new nodeSetup, then the set-up as at start (volumes no longer
    // wanted come down, new ones go up; the setup task runs for the new configuration).
    reconfigure_ = false;
    if (!register_node()) return;
    prepare();
  }
  if (leave_if_done()) stop_.request();
}

// Termination of the agent: it stops; the jobs keep running under their supervisors.
void Daemon::handle_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&set, sig);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([this, set] {
    int sig = 0;
    while (sigwait(&set, &sig) == 0) {
      if (sig == SIGHUP) continue;
      spdlog::info("signal {}: stopping; running jobs keep running", sig);
      stop_.request();
      return;
    }
  }).detach();
}

// The state dir, the tasks of the last run, leftovers, the signals, the control plane's client.
bool Daemon::start() {
  const StateLayout state(cfg_.state_dir);
  if (auto s = make_dirs(state.jobs_dir(), 0700); !s) {
    spdlog::error("{}", s.error().message);
    return false;
  }
  ::chmod(cfg_.state_dir.c_str(), 0700);
  reporter_.load_sequence();
  tasks_.recover();
  if (tasks_.empty()) {
    // No job of this node runs: job-level mounts and credentials files below the roots are
    // leftovers of an agent that died, and go now rather than before the next job.
    for (const auto& w : clean_leftovers(
             make_job_layout(cfg_.root, JobNames{}),
             {cfg_.root, cfg_.storage, cfg_.docker_socket, cfg_.container_input_roots})) {
      spdlog::warn("leftovers: {}", w);
    }
  }
  handle_stop_signals();
  auto http = HttpClient::create(cfg_);
  if (!http) {
    spdlog::error("{}", http.error().message);
    return false;
  }
  http_ = std::make_unique<HttpClient>(std::move(*http));
  http_->set_abort_flag(&stop_.flag());
  // A turn of the loop may wait for one control-plane request (and a tick).
  std::string why;
  watchdog_.ensure_at_least((2ULL * cfg_.request_timeout_seconds + 10) * 1000000ULL, &why);
  if (!why.empty()) spdlog::warn("watchdog: {}", why);
  return true;
}

// A set-up under way stops at its next step (the stop is set) and undoes itself; queued steps
// end at once. A mount or a pull under way is let finish, with the watchdog served meanwhile
// (systemd's stop timeout still bounds it: the next agent then sets the task up again).
void Daemon::stop_worker() {
  while (!worker_->wait_drained_for(kTickMs)) watchdog_.ping();
  worker_.reset();
  tasks_.settle_at_stop();
}

int Daemon::run() {
  if (!start()) return 1;
  if (!register_node()) return 0;
  // Ready: registered, and the tasks of the last run found again.
  sd_notify(0, "READY=1\nSTATUS=preparing");
  prepare();
  worker_ = std::make_unique<SerialWorker>();
  poller_.start();
  while (!stop_.requested()) {
    auto desired = poller_.take_new(kTickMs);
    if (stop_.requested()) break;
    turn(desired);
    watchdog_.ping();
  }
  sd_notify(0, "STOPPING=1");
  stop_worker();
  poller_.join();
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
