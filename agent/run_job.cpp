#include "agent/run_job.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "agent/job/job_container.hpp"
#include "agent/job/job_site.hpp"
#include "agent/job/launch_planner.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"
#include "common/uuid.hpp"
#include "exec/execution_log.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/job_status.hpp"
#include "exec/supervisor_process.hpp"
#include "heartbeat/gpu_inventory.hpp"
#include "jobspec/job_parser.hpp"
#include "jobspec/rules.hpp"
#include "mount/storage_config.hpp"

namespace batchai {

namespace {

void say(const std::string& text) {
  std::fprintf(stderr, "batchai-agent: %s\n", text.c_str());
}

// "examples/digits/job.json" is job "digits"; "train.json" is job "train".
std::string default_name(const std::string& file) {
  std::filesystem::path p = std::filesystem::absolute(file);
  std::string stem = p.stem().string();
  if (stem == "job" && p.has_parent_path()) stem = p.parent_path().filename().string();
  return check_resource_name(stem).empty() ? stem : "job";
}

// The job's volumes come down; what could not is said.
void take_down_mounts(const PlannedJob& job, const SiteSettings& site) {
  for (const auto& w : take_down_job(job.layout, site, job.container ? job.container_name : "")) {
    say("warning: " + w);
  }
}

// Mounts are found by their path in /proc/self/mountinfo, where the kernel writes the resolved
// path: a root given through a symlink, "//" or "." would never match, and its mounts would be
// left behind. The longest existing part of the path is resolved and must be what was given.
std::string check_canonical_path(const std::string& path) {
  if (auto why = check_absolute_path(path); !why.empty()) return why;
  std::string existing = path, rest;
  while (existing.size() > 1 && ::access(existing.c_str(), F_OK) != 0) {
    auto slash = existing.rfind('/');
    rest = existing.substr(slash) + rest;
    existing = slash == 0 ? "/" : existing.substr(0, slash);
  }
  std::error_code ec;
  auto resolved = std::filesystem::canonical(existing, ec);
  if (ec) return quote_value(path) + ": " + ec.message();
  std::string canonical = join_path(resolved.string(), rest);
  std::string given = path;
  while (given.size() > 1 && given.back() == '/') given.pop_back();
  if (canonical != given || rest.find("//") != std::string::npos ||
      rest.find("/./") != std::string::npos || rest.ends_with("/.")) {
    return quote_value(path) + " is not a canonical path (it resolves to " +
           quote_value(canonical) + "): give that instead";
  }
  return "";
}

// A path for the summary; one on a job volume is gone from the node once the volume is down.
std::string where(const PlannedJob& job, const std::string& path) {
  for (const auto& m : job.mounts) {
    if (path == m.mount_point || path.starts_with(m.mount_point + "/")) {
      return path + "\n      (on the job's volume \"" + m.volume->relative_mount_path +
             "\", unmounted now: at /" +
             (path.size() > m.mount_point.size() ? path.substr(m.mount_point.size() + 1) : "") +
             " inside that volume)";
    }
  }
  return path;
}

// Waits for the supervisor; SIGINT/SIGTERM to run-job become a termination of the job.
// Returns the signal that asked for termination, 0 if none.
int wait_for_supervisor(pid_t supervisor, int& wait_status) {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&set, sig);
  int asked = 0;
  for (;;) {
    pid_t done = ::waitpid(supervisor, &wait_status, WNOHANG);
    if (done == supervisor) return asked;
    int sig = ::sigwaitinfo(&set, nullptr);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
      if (asked == 0) {
        asked = sig;
        say("terminating the job (signal " + std::to_string(sig) + ")");
        ::kill(supervisor, SIGTERM);
      }
    }
  }
}

}  // namespace

int run_job(const RunJobOptions& o) {
  // 1. Everything is checked before anything on the machine changes.
  auto text = read_file(o.job_file, kMaxJobDocumentBytes);
  if (!text) {
    say("cannot read the job file: " + text.error().message);
    return kExitInvalid;
  }
  ParsedJob parsed = parse_job_document(*text);
  Diagnostics& d = parsed.diagnostics;
  JobNames names;
  names.job = o.name.empty() ? default_name(o.job_file) : o.name;
  names.job_uuid = random_uuid();
  if (auto why = check_resource_name(names.job); !why.empty()) d.error("--name", why);
  if (auto why = check_canonical_path(o.root); !why.empty()) d.error("--root", why);
  if (auto why = check_canonical_path(o.state_dir); !why.empty()) d.error("--state-dir", why);
  if (o.grace_seconds < 0 || o.grace_seconds > 3600)
    d.error("--grace", "must be 0 to 3600 seconds");
  StorageSettings storage;
  if (!o.storage_config.empty()) {
    Diagnostics sd;
    storage = load_storage_settings(o.storage_config, sd);
    for (const auto& e : sd.errors()) {
      d.error("--storage-config", e.path.empty() ? e.message : e.path + ": " + e.message);
    }
    for (const auto& w : sd.warnings())
      say("warning: --storage-config: " + w.path + ": " + w.message);
  }
  if (storage.cache_directory.empty()) storage.cache_directory = join_path(o.root, "cache");
  const SiteSettings site{o.root, storage, o.docker_socket};
  PlanContext ctx;
  ctx.base_env = JobEnvironment::node_base();
  for (const auto& kv : o.extra_env) {
    auto eq = kv.find('=');
    std::string name = kv.substr(0, eq);
    if (eq == std::string::npos) {
      d.error("--env", "\"" + kv + "\" is not NAME=VALUE");
    } else if (auto why = check_env_name(name); !why.empty()) {
      d.error("--env", why);
    } else if (!is_valid_utf8(kv)) {
      d.error("--env", "the value of " + name + " is not valid UTF-8");
    } else {
      ctx.base_env.set(name, kv.substr(eq + 1));
    }
  }
  for (const auto& w : d.warnings()) say("warning: " + w.path + ": " + w.message);
  if (d.has_errors()) {
    std::fputs(Diagnostics::render(d.errors()).c_str(), stderr);
    say("InvalidJobSpec: " + std::to_string(d.errors().size()) + " problem(s) in " + o.job_file +
        "; nothing was run");
    return kExitInvalid;
  }
  const JobSpec& spec = parsed.spec;
  ctx.names = names;
  ctx.layout = make_job_layout(o.root, names);
  ctx.gpu_count = static_cast<int>(read_gpu_inventory().gpus.size());
  ctx.start_wall_ms = wall_ms();
  ctx.container_socket = o.docker_socket;
  ctx.container_name = job_container_name(names.job_uuid);
  auto planned = plan_job(spec, ctx, d);
  if (!planned) {
    std::fputs(Diagnostics::render(d.errors()).c_str(), stderr);
    say("InvalidJobSpec: " + std::to_string(d.errors().size()) + " problem(s) in " + o.job_file +
        "; nothing was run");
    return kExitInvalid;
  }
  PlannedJob& job = *planned;
  job.plan.grace_ms = static_cast<std::int64_t>(o.grace_seconds) * 1000;
  job.plan.end_with_parent = true;
  if (auto cg = own_cgroup_dir()) job.plan.cgroup_parent = *cg;

  // 2. From here on SIGINT, SIGTERM and SIGHUP are handled, not fatal: before the job starts
  // they undo what was done; once it runs they terminate it.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&stop_signals, sig);
  ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  auto stop_requested = [&]() {
    sigset_t stops;
    sigemptyset(&stops);
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, sig);
    timespec zero{};
    return std::max(0, ::sigtimedwait(&stops, nullptr, &zero));
  };

  // One job at a time on a node root, as on a Batch AI node.
  if (auto s = make_dirs(o.root, 0755); !s) {
    say(s.error().message);
    return kExitAgentError;
  }
  UniqueFd lock(::open(node_root_lock_path(o.root).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid() || ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    say("another job is running on " + o.root + "; use another --root or wait for it");
    return kExitAgentError;
  }
  // Leftovers of an earlier job whose run-job was killed before it could clean up: no job runs
  // on this root now (the lock is held by run-job and its supervisor while a job runs).
  for (const auto& w : clean_leftovers(job.layout, site)) say("warning: " + w);

  // 3. Directories, volumes, stdouterr/, outputs, execution.log.
  int interrupted_by = 0;
  if (auto e = set_up_job(job,
                          "job " + names.job + " (" + names.job_uuid +
                              ") accepted by run-job; API " + to_string(spec.api_version) +
                              ", toolkit " + settings_field(spec.toolkit.kind),
                          site, stop_requested, &interrupted_by)) {
    if (interrupted_by != 0) {
      say("stopped by signal " + std::to_string(interrupted_by) + " before the job started");
      return 128 + interrupted_by;
    }
    std::string where_ = e->details.empty() ? "" : e->details[0].value + ": ";
    say(e->code + ": " + where_ + e->message);
    return kExitAgentError;
  }
  ExecutionLog log(job.plan.execution_log);

  // 5. The supervisor runs the job; this process only waits and relays termination.
  const StateLayout state(o.state_dir);
  const std::string job_state = state.job_dir(names.job_uuid);
  const SupervisorFiles supervisor_files = StateLayout::supervisor_files(job_state);
  Status state_ok = make_dirs(state.jobs_dir(), 0700);
  if (state_ok) state_ok = make_dirs(job_state, 0700);
  if (int sig = stop_requested(); sig != 0) {
    say("stopped by signal " + std::to_string(sig) + " before the job started");
    take_down_mounts(job, site);
    return 128 + sig;
  }
  auto supervisor = state_ok ? start_supervisor(supervisor_files, job.plan, lock.get())
                             : Result<pid_t>(state_ok.error());
  if (!supervisor) {
    say("cannot start the job's supervisor: " + supervisor.error().message);
    log.line("cannot start the supervisor: " + supervisor.error().message);
    take_down_mounts(job, site);
    return kExitAgentError;
  }
  const std::string err_file =
      job.plan.steps.back().tasks.empty() ? "" : job.plan.steps.back().tasks.front().stderr_path;
  say("job " + names.job + " running; follow it with: tail -f " + err_file);
  int wait_status = 0;
  int asked = wait_for_supervisor(*supervisor, wait_status);

  // 6. Result, then clean-up, then the summary.
  auto status = read_status(supervisor_files.status);
  int code = kExitAgentError;
  std::string summary;
  if (!status || (status->state != JobState::kSucceeded && status->state != JobState::kFailed)) {
    say("the job's supervisor ended without a final status (" +
        (status ? "state " + to_string(status->state) : status.error().message) + "); see " +
        supervisor_files.log);
    // Whatever the job left running goes with it (its orphans are in the job's cgroup).
    if (!job.plan.cgroup_parent.empty()) {
      auto cg =
          JobCgroup::existing(join_path(job.plan.cgroup_parent, job_cgroup_name(job.plan.job_id)));
      for (int attempt = 0; attempt < 50 && cg.populated(); ++attempt) {
        cg.kill_all();
        ::poll(nullptr, 0, 100);
      }
      if (auto s = cg.remove(); !s) say("warning: " + s.error().message);
    }
  } else {
    for (const auto& e : status->errors) say(e.code + ": " + e.message);
    const std::string first_code = status->errors.empty() ? "" : status->errors[0].code;
    if (status->state == JobState::kSucceeded) {
      code = 0;
    } else if (first_code == "MaxWallClockTimeExceeded") {
      code = kExitWallClock;
    } else if (first_code == "JobTerminate") {
      code = 128 + (asked != 0 ? asked : SIGTERM);
    } else if (status->exit_code) {
      code = *status->exit_code;
    }
    char took[32];
    std::snprintf(took, sizeof took, "%.1f",
                  static_cast<double>(status->end_ms - status->start_ms) / 1000.0);
    summary = "job " + names.job + " " + to_string(status->state) +
              (status->exit_code ? " (exit code " + std::to_string(*status->exit_code) + ")" : "") +
              " in " + took + " s\n  stdout/stderr: " + where(job, job.stdouterr_dir) + "\n";
    for (const auto& out : job.outputs) {
      summary += "  output " + out.id + ": " + where(job, out.path) + "\n";
    }
  }
  log.line("run-job finished: exit status " + std::to_string(code));
  take_down_mounts(job, site);
  if (!summary.empty()) std::fputs(("batchai-agent: " + summary).c_str(), stderr);
  return code;
}

}  // namespace batchai
