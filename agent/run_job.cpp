#include "agent/run_job.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "agent/job/job_start.hpp"
#include "agent/job/layout.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "common/uuid.hpp"
#include "exec/execution_log.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/job_status.hpp"
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

// Mounts are found by their path in /proc/self/mountinfo, where the kernel writes the resolved
// path: a root given through a symlink, "//" or "." would never match, and its mounts would be
// left behind. The longest existing part of the path is resolved and must be what was given.
std::string check_canonical_path(const std::string& path) {
  if (auto why = check_absolute_path(path); !why.empty()) return why;
  std::string existing = path, rest;
  while (existing.size() > 1 && ::access(existing.c_str(), F_OK) != 0) {
    auto slash = existing.rfind('/');
    rest.insert(0, existing.substr(slash));
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

// The storage settings of --storage-config; the cache below the root unless they say otherwise.
StorageSettings storage_settings(const RunJobOptions& o, Diagnostics& d) {
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
  return storage;
}

// The node's base environment with -e NAME=VALUE added.
JobEnvironment base_environment(const RunJobOptions& o, Diagnostics& d) {
  JobEnvironment env = JobEnvironment::node_base();
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
      env.set(name, kv.substr(eq + 1));
    }
  }
  return env;
}

// The command line's part of the start: everything the document does not say.
JobStartRequest start_request(const RunJobOptions& o, const ParsedJob& parsed, Diagnostics& d) {
  JobStartRequest r;
  r.names.job = o.name.empty() ? default_name(o.job_file) : o.name;
  r.names.job_uuid = random_uuid();
  if (auto why = check_resource_name(r.names.job); !why.empty()) d.error("--name", why);
  if (auto why = check_canonical_path(o.root); !why.empty()) d.error("--root", why);
  if (auto why = check_canonical_path(o.state_dir); !why.empty()) d.error("--state-dir", why);
  if (o.grace_seconds < 0 || o.grace_seconds > 3600)
    d.error("--grace", "must be 0 to 3600 seconds");
  r.site = {o.root, storage_settings(o, d), o.docker_socket, o.container_input_roots};
  for (const auto& dir : o.container_input_roots) {
    if (auto why = check_absolute_path(dir); !why.empty()) d.error("--container-input-root", why);
  }
  r.base_env = base_environment(o, d);
  r.start_wall_ms = wall_ms();
  r.supervision.grace_ms = static_cast<std::int64_t>(o.grace_seconds) * 1000;
  r.supervision.end_with_parent = true;
  r.state_dir = o.state_dir;
  r.intro = "job " + r.names.job + " (" + r.names.job_uuid + ") accepted by run-job; API " +
            to_string(parsed.spec.api_version) + ", toolkit " +
            settings_field(parsed.spec.toolkit.kind);
  return r;
}

int refuse(const Diagnostics& d, const std::string& job_file) {
  std::fputs(Diagnostics::render(d.errors(), d.error_count()).c_str(), stderr);
  say("InvalidJobSpec: " + std::to_string(d.error_count()) + " problem(s) in " + job_file +
      "; nothing was run");
  return kExitInvalid;
}

// A start that did not get as far as a running supervisor; says why, returns the exit status.
int start_failed(const JobStartResult& started, const RunJobOptions& o, const Diagnostics& d) {
  const JobError& e = *started.error;
  if (started.interrupted_by != 0) {
    say("stopped by signal " + std::to_string(started.interrupted_by) + " before the job started");
    return 128 + started.interrupted_by;
  }
  if (e.code == "InvalidJobSpec") return refuse(d, o.job_file);
  if (e.code == "NodeBusy") {
    say("another job is running on " + o.root + "; use another --root or wait for it");
  } else {
    std::string where_ = e.details.empty() ? "" : e.details[0].value + ": ";
    say(e.code + ": " + where_ + e.message);
  }
  return kExitAgentError;
}

// SIGINT, SIGTERM and SIGHUP are handled from here on, not fatal: before the job starts they undo
// what was done; once it runs they terminate it.
int stop_signal_pending() {
  sigset_t stops;
  sigemptyset(&stops);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stops, sig);
  timespec zero{};
  return std::max(0, ::sigtimedwait(&stops, nullptr, &zero));
}

void block_stop_signals() {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&stop_signals, sig);
  ::sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
}

// Whatever a supervisor that ended without a final status left running goes with it (its
// orphans are in the job's cgroup).
void kill_what_is_left(const LaunchPlan& plan) {
  if (plan.cgroup_parent.empty()) return;
  auto cg = JobCgroup::existing(join_path(plan.cgroup_parent, job_cgroup_name(plan.job_id)));
  for (int attempt = 0; attempt < 50 && cg.populated(); ++attempt) {
    cg.kill_all();
    ::poll(nullptr, 0, 100);
  }
  if (auto s = cg.remove(); !s) say("warning: " + s.error().message);
}

int exit_status_of(const JobStatus& status, int asked) {
  const std::string first_code = status.errors.empty() ? "" : status.errors[0].code;
  if (status.state == JobState::kSucceeded) return 0;
  if (first_code == "MaxWallClockTimeExceeded") return kExitWallClock;
  if (first_code == "JobTerminate") return 128 + (asked != 0 ? asked : SIGTERM);
  if (status.exit_code) return *status.exit_code;
  return kExitAgentError;
}

std::string summary_of(const PlannedJob& job, const JobStatus& status, const std::string& name) {
  char took[32];
  std::snprintf(took, sizeof took, "%.1f",
                static_cast<double>(status.end_ms - status.start_ms) / 1000.0);
  std::string summary =
      "job " + name + " " + to_string(status.state) +
      (status.exit_code ? " (exit code " + std::to_string(*status.exit_code) + ")" : "") + " in " +
      took + " s\n  stdout/stderr: " + where(job, job.stdouterr_dir) + "\n";
  for (const auto& out : job.outputs) {
    summary += "  output " + out.id + ": " + where(job, out.path) + "\n";
  }
  return summary;
}

// The job's end as its supervisor recorded it: the exit status, and the summary to print.
int finish(const PlannedJob& job, const SupervisorFiles& files, const std::string& name, int asked,
           std::string& summary) {
  auto status = read_status(files.status);
  if (!status || (status->state != JobState::kSucceeded && status->state != JobState::kFailed)) {
    say("the job's supervisor ended without a final status (" +
        (status ? "state " + to_string(status->state) : status.error().message) + "); see " +
        files.log);
    kill_what_is_left(job.plan);
    return kExitAgentError;
  }
  for (const auto& e : status->errors) say(e.code + ": " + e.message);
  summary = summary_of(job, *status, name);
  return exit_status_of(*status, asked);
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
  JobStartRequest request = start_request(o, parsed, d);
  const JobNames names = request.names;
  const SiteSettings site = request.site;
  for (const auto& w : d.warnings()) say("warning: " + w.path + ": " + w.message);
  if (d.has_errors()) return refuse(d, o.job_file);

  // 2. The job's set-up and its supervisor, as the daemon starts a job (agent/job/job_start.hpp).
  block_stop_signals();
  request.interrupted = stop_signal_pending;
  JobStartResult started = start_job(parsed.spec, d, request);
  for (const auto& w : started.warnings) say("warning: " + w);
  if (started.error) return start_failed(started, o, d);
  const PlannedJob& job = *started.job;
  for (const auto& w : job.warnings) say("warning: " + w);
  const std::string err_file =
      job.plan.steps.back().tasks.empty() ? "" : job.plan.steps.back().tasks.front().stderr_path;
  say("job " + names.job + " running; follow it with: tail -f " + err_file);

  // 3. The supervisor runs the job; this process only waits and relays termination.
  int wait_status = 0;
  int asked = wait_for_supervisor(started.supervisor, wait_status);

  // 4. Result, then clean-up (the root still locked), then the summary.
  std::string summary;
  const SupervisorFiles files =
      StateLayout::supervisor_files(StateLayout(o.state_dir).job_dir(names.job_uuid));
  const int code = finish(job, files, names.job, asked, summary);
  ExecutionLog(job.plan.execution_log, job.layout.root)
      .line("run-job finished: exit status " + std::to_string(code));
  for (const auto& w : take_down_started_job(job, site)) say("warning: " + w);
  if (!summary.empty()) std::fputs(("batchai-agent: " + summary).c_str(), stderr);
  return code;
}

}  // namespace batchai
