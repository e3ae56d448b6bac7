#include "exec/supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <set>

#include "common/fs.hpp"
#include "common/time.hpp"
#include "exec/execution_log.hpp"
#include "exec/job_cgroup.hpp"
#include "exec/job_status.hpp"
#include "exec/output_file.hpp"
#include "exec/process_tree.hpp"
#include "exec/task_process.hpp"

namespace batchai {

namespace {

constexpr std::int64_t kSyncIntervalMs = 1000;  // output reaches the file's storage within 1 s
constexpr std::int64_t kRekillIntervalMs = 200;
constexpr std::size_t kReadChunk = 1 << 16;

struct Stream {
  UniqueFd pipe;
  std::optional<OutputFile> file;
};

struct Task {
  const TaskSpec* spec = nullptr;
  pid_t pid = 0;
  bool exited = false;
  int exit_code = 0;
  Stream out, err;
};

enum class Outcome { kSucceeded, kFailed, kTerminated, kTimedOut };

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

class Supervisor {
 public:
  Supervisor(const LaunchPlan& plan, std::string status_path)
      : plan_(plan),
        status_path_(std::move(status_path)),
        log_(plan.execution_log, plan.files_root) {}

  int run(pid_t parent_pid);

 private:
  Outcome run_step(const StepSpec& step);
  bool start_tasks(const std::vector<TaskSpec>& specs, std::vector<Task>& into);
  void serve_once();
  void end_services();
  void mark_ready();
  std::set<pid_t> service_tree() const;
  bool step_alive() const;
  int signal_job(int sig);
  void handle_signals();
  void reap();
  void reap_one(Task& t, int wstatus, bool service);
  void fail_for_service();
  void pump(Stream& s, bool drain);
  void begin_stop(const std::string& why);
  void save();
  std::int64_t poll_timeout(std::int64_t now) const;
  bool children_remain() const;

  const LaunchPlan& plan_;
  std::string status_path_;
  ExecutionLog log_;
  JobStatus status_;
  UniqueFd signal_fd_;
  std::optional<JobCgroup> cgroup_;
  std::vector<Task> tasks_;
  // The plan's services, from before the first step to the job's end; reserved at start, so
  // first_failure_ may point into it.
  std::vector<Task> services_;
  bool ending_services_ = false;          // the job has ended: the services are stopped too
  const Task* failed_service_ = nullptr;  // the first service that ended before the job
  std::int64_t deadline_mono_ = 0;        // 0: none
  bool terminate_requested_ = false;
  bool released_ = false;  // SIGUSR1: the job ended on its master node
  // How the running step ends, decided once by whatever happens first (a task failing,
  // termination, the deadline, all primary tasks done): what follows while the rest of the
  // step's processes are stopped does not change it.
  std::optional<Outcome> decided_;
  bool in_step_ = false;
  bool stopping_ = false;
  std::int64_t kill_at_ = 0;
  std::int64_t next_kill_ = 0;
  bool unkillable_reported_ = false;
  std::int64_t next_sync_ = 0;
  bool no_children_ = false;
  const Task* first_failure_ = nullptr;
  std::string failure_message_;
};

int Supervisor::run(pid_t parent_pid) {
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  sigset_t mask;
  sigemptyset(&mask);
  for (int sig : {SIGCHLD, SIGTERM, SIGINT, SIGUSR1}) sigaddset(&mask, sig);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  ::signal(SIGHUP, SIG_IGN);
  ::signal(SIGPIPE, SIG_IGN);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_.valid()) {
    log_.line("supervisor: signalfd failed: " + errno_text(errno));
    return 1;
  }
  if (plan_.end_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent_pid) terminate_requested_ = true;  // it died before we got here
  }
  status_.start_ms = wall_ms();
  status_.supervisor_pid = ::getpid();
  status_.supervisor_start_ticks = process_start_ticks(::getpid());
  status_.boot_id = boot_id();
  if (plan_.deadline_wall_ms > 0) {
    deadline_mono_ = mono_ms() + std::max<std::int64_t>(0, plan_.deadline_wall_ms - wall_ms());
  }
  if (!plan_.cgroup_parent.empty()) {
    auto cg = JobCgroup::create(plan_.cgroup_parent, job_cgroup_name(plan_.job_id));
    if (cg) {
      cgroup_ = std::move(*cg);
      status_.cgroup = cgroup_->dir();
      log_.line("supervisor: job cgroup " + cgroup_->dir());
    } else {
      log_.line("supervisor: no cgroup (" + cg.error().message +
                "); tracking the job's processes as their subreaper");
    }
  }
  save();

  Outcome outcome = Outcome::kSucceeded;
  const StepSpec* failed_step = nullptr;
  services_.reserve(plan_.services.size());
  if (!start_tasks(plan_.services, services_)) outcome = Outcome::kFailed;
  for (const auto& step : plan_.steps) {
    if (outcome != Outcome::kSucceeded) break;
    handle_signals();
    if (released_) break;  // what is left of the job is done elsewhere
    if (terminate_requested_ || (deadline_mono_ > 0 && mono_ms() >= deadline_mono_)) {
      outcome = terminate_requested_ ? Outcome::kTerminated : Outcome::kTimedOut;
      break;
    }
    status_.step = step.name;
    save();
    if (&step == &plan_.steps.back()) mark_ready();
    outcome = run_step(step);
    if (outcome != Outcome::kSucceeded) {
      failed_step = &step;
      break;
    }
  }

  end_services();
  status_.end_ms = wall_ms();
  switch (outcome) {
    case Outcome::kSucceeded:
      status_.state = JobState::kSucceeded;
      status_.exit_code = 0;
      log_.line(released_ ? "this node's part of the job ended with the job: exit code 0"
                          : "job succeeded: exit code 0");
      break;
    case Outcome::kFailed: {
      status_.state = JobState::kFailed;
      status_.exit_code = first_failure_->exit_code;
      // No step: one of the job's services failed before the first began.
      std::string what =
          failed_step && failed_step->name == "jobPreparation" ? "Job preparation" : "The job";
      JobError e{failed_step ? failed_step->failure_code : std::string("JobFailed"),
                 what + " failed with exit code " + std::to_string(first_failure_->exit_code),
                 {{"exitCode", std::to_string(first_failure_->exit_code)},
                  {"task", first_failure_->spec->name},
                  {"stderr", first_failure_->spec->stderr_path}}};
      if (!failure_message_.empty()) e.details.push_back({"reason", failure_message_});
      log_.line(e.code + ": " + e.message + " (task " + first_failure_->spec->name + ")");
      status_.errors.push_back(std::move(e));
      break;
    }
    case Outcome::kTerminated:
      status_.state = JobState::kFailed;
      status_.errors.push_back({"JobTerminate", "The job was terminated", {}});
      log_.line("JobTerminate: the job was terminated");
      break;
    case Outcome::kTimedOut: {
      status_.state = JobState::kFailed;
      std::string limit = std::to_string(plan_.max_wall_clock_ms / 1000) + " s";
      status_.errors.push_back(
          {"MaxWallClockTimeExceeded",
           "The job ran longer than its maxWallClockTime (" + limit + ") and was killed",
           {{"maxWallClockTime", limit}}});
      log_.line("MaxWallClockTimeExceeded: the job ran longer than its maxWallClockTime (" + limit +
                ")");
      break;
    }
  }
  if (cgroup_) {
    if (auto s = cgroup_->remove(); !s) log_.line("supervisor: " + s.error().message);
  }
  save();
  return 0;
}

bool Supervisor::start_tasks(const std::vector<TaskSpec>& specs, std::vector<Task>& into) {
  into.clear();
  into.reserve(specs.size());
  for (const auto& spec : specs) {
    Task& t = into.emplace_back();
    t.spec = &spec;
    auto out = OutputFile::open(spec.stdout_path, plan_.files_root);
    auto errf = OutputFile::open(spec.stderr_path, plan_.files_root);
    std::string problem = !out ? out.error().message : !errf ? errf.error().message : "";
    if (problem.empty()) {
      t.out.file = std::move(*out);
      t.err.file = std::move(*errf);
      auto started = start_task(spec, cgroup_ ? cgroup_->procs_file() : "");
      if (started) {
        t.pid = started->pid;
        t.out.pipe = std::move(started->stdout_pipe);
        t.err.pipe = std::move(started->stderr_pipe);
        for (int fd : {t.out.pipe.get(), t.err.pipe.get()}) ::fcntl(fd, F_SETFL, O_NONBLOCK);
        log_.line("task " + spec.name + " started: pid " + std::to_string(t.pid) + ", " +
                  spec.argv[0]);
        status_.tasks.push_back({spec.name, t.pid, std::nullopt, wall_ms()});
        continue;
      }
      problem = started.error().message;
    }
    // A task that cannot start fails the step the way a shell reports it: exit code 127.
    t.exited = true;
    t.exit_code = 127;
    if (t.err.file) {
      std::string line = "batchai-agent: " + problem + "\n";
      (void)t.err.file->append(line.data(), line.size());
    }
    log_.line("task " + spec.name + " could not start: " + problem);
    status_.tasks.push_back({spec.name, 0, 127, 0});
    if (!decided_) {
      decided_ = Outcome::kFailed;
      first_failure_ = &t;
      failure_message_ = problem;
    }
    save();
    return false;
  }
  // status.json names the running tasks with their pids from the moment they run.
  if (!specs.empty()) save();
  return true;
}

Outcome Supervisor::run_step(const StepSpec& step) {
  first_failure_ = nullptr;
  failure_message_.clear();
  stopping_ = false;
  decided_.reset();
  in_step_ = true;
  kill_at_ = 0;
  no_children_ = false;
  log_.line(step.name + " started");
  if (!start_tasks(step.tasks, tasks_)) begin_stop("a task could not start");
  fail_for_service();
  next_sync_ = mono_ms() + kSyncIntervalMs;

  for (;;) {
    reap();
    bool primaries_done = std::all_of(tasks_.begin(), tasks_.end(),
                                      [](const Task& t) { return t.exited || !t.spec->primary; });
    // A held step goes on with its primaries done, until the job ends (or is ended).
    const bool holding = step.hold && !released_;
    if (primaries_done && !decided_ && !holding) decided_ = Outcome::kSucceeded;
    if (primaries_done && decided_ && !stopping_) begin_stop("");
    if (primaries_done && decided_ && !step_alive()) break;
    serve_once();
  }
  // Nothing of the step is alive: whatever is still in the pipes is complete output.
  for (auto& t : tasks_) {
    for (Stream* s : {&t.out, &t.err}) {
      if (s->pipe.valid()) pump(*s, true);
      if (s->file) s->file->sync_if_dirty();
    }
  }
  for (const auto& t : tasks_) {
    log_.line("task " + t.spec->name + " ended: exit code " + std::to_string(t.exit_code));
  }
  log_.line(step.name + " ended");
  in_step_ = false;
  return decided_.value_or(Outcome::kSucceeded);
}

// One turn of the loop: output pumped, signals taken, the deadline and the kill timer kept.
void Supervisor::serve_once() {
  std::vector<pollfd> fds{{signal_fd_.get(), POLLIN, 0}};
  std::vector<Stream*> streams;
  for (auto* list : {&tasks_, &services_}) {
    for (auto& t : *list) {
      for (Stream* s : {&t.out, &t.err}) {
        if (!s->pipe.valid()) continue;
        fds.push_back({s->pipe.get(), POLLIN, 0});
        streams.push_back(s);
      }
    }
  }

  std::int64_t now = mono_ms();
  int rc = ::poll(fds.data(), fds.size(), static_cast<int>(poll_timeout(now)));
  if (rc < 0 && errno != EINTR) {
    log_.line("supervisor: poll failed: " + errno_text(errno));
    begin_stop("internal error");
  }
  if (fds[0].revents != 0) handle_signals();
  for (std::size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents != 0) pump(*streams[i - 1], false);
  }
  now = mono_ms();
  if (in_step_ && deadline_mono_ > 0 && now >= deadline_mono_ && !decided_) {
    decided_ = Outcome::kTimedOut;
    begin_stop("maxWallClockTime reached");
  }
  if (stopping_ && now >= kill_at_ && now >= next_kill_) {
    int n = signal_job(SIGKILL);
    if (n > 0) log_.line("sent SIGKILL to " + std::to_string(n) + " remaining processes");
    next_kill_ = now + kRekillIntervalMs;
    if (!unkillable_reported_ && now >= kill_at_ + plan_.unkillable_after_ms) {
      unkillable_reported_ = true;
      const std::string why = std::to_string(std::max(n, 1)) +
                              " processes of the job survived SIGKILL for " +
                              std::to_string(plan_.unkillable_after_ms / 1000) +
                              " s (stuck in the kernel, on a file server that does not "
                              "answer?); the supervisor keeps trying";
      log_.line(why);
      status_.errors.push_back({"ProcessesNotKilled", why, {}});
      save();
    }
  }
  if (now >= next_sync_) {
    for (auto* list : {&tasks_, &services_}) {
      for (auto& t : *list) {
        for (Stream* s : {&t.out, &t.err}) {
          if (s->file) s->file->sync_if_dirty();
        }
      }
    }
    next_sync_ = now + kSyncIntervalMs;
  }
}

// The services' processes and everything below them.
std::set<pid_t> Supervisor::service_tree() const {
  std::set<pid_t> tree;
  for (const auto& t : services_) {
    if (t.exited || t.pid <= 0) continue;
    tree.insert(t.pid);
    for (pid_t p : list_descendants(t.pid)) tree.insert(p);
  }
  return tree;
}

// Whether anything of the step (not of the services) is alive, in the tree or the cgroup.
bool Supervisor::step_alive() const {
  if (services_.empty() || ending_services_) {
    return !no_children_ || (cgroup_ && cgroup_->populated());
  }
  // The processes first, the services' tree second: a session forked in between is in the
  // tree, never taken for a step's process.
  const std::vector<pid_t> all = list_descendants(::getpid());
  const std::set<pid_t> keep = service_tree();
  for (pid_t p : all) {
    if (keep.count(p) == 0) return true;
  }
  if (cgroup_) {
    for (pid_t p : cgroup_->pids()) {
      if (keep.count(p) == 0) return true;
    }
  }
  return false;
}

// Signals every process of the job, but the services' while the job goes on; returns how many.
int Supervisor::signal_job(int sig) {
  if (services_.empty() || ending_services_) {
    int n = signal_descendants(::getpid(), sig);
    if (cgroup_) {
      if (sig == SIGKILL) {
        cgroup_->kill_all();
      } else {
        for (pid_t pid : cgroup_->pids()) ::kill(pid, sig);
      }
    }
    return n;
  }
  const std::vector<pid_t> all = list_descendants(::getpid());
  const std::vector<pid_t> in_cgroup = cgroup_ ? cgroup_->pids() : std::vector<pid_t>{};
  const std::set<pid_t> keep = service_tree();
  int n = 0;
  for (pid_t p : all) {
    if (keep.count(p) == 0 && ::kill(p, sig) == 0) ++n;
  }
  for (pid_t p : in_cgroup) {
    if (keep.count(p) == 0) ::kill(p, sig);
  }
  return n;
}

// The job has ended: its services stop the way a step's processes do.
void Supervisor::end_services() {
  if (services_.empty()) return;
  ending_services_ = true;
  in_step_ = false;
  stopping_ = false;
  begin_stop("the job ended");
  for (;;) {
    reap();
    if (no_children_ && (!cgroup_ || !cgroup_->populated())) break;
    serve_once();
  }
  for (auto& t : services_) {
    for (Stream* s : {&t.out, &t.err}) {
      if (s->pipe.valid()) pump(*s, true);
      if (s->file) s->file->sync_if_dirty();
    }
    log_.line("service " + t.spec->name + " ended: exit code " + std::to_string(t.exit_code));
  }
}

// Every step before the last has succeeded: the node is ready (a multi-node job's master waits
// for it). Made where nothing but the agent writes, without following a link.
void Supervisor::mark_ready() {
  if (plan_.ready_file.empty()) return;
  UniqueFd fd(::open(plan_.ready_file.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    log_.line("supervisor: cannot mark the node ready: " + errno_text(errno));
  }
}

std::int64_t Supervisor::poll_timeout(std::int64_t now) const {
  std::int64_t wake = next_sync_;
  if (deadline_mono_ > 0 && !decided_) wake = std::min(wake, deadline_mono_);
  if (stopping_) wake = std::min(wake, std::max(kill_at_, next_kill_));
  // While stopping, re-check for processes that are gone without a SIGCHLD of ours.
  if (stopping_) wake = std::min(wake, now + kRekillIntervalMs);
  return std::clamp<std::int64_t>(wake - now, 0, kSyncIntervalMs);
}

void Supervisor::handle_signals() {
  signalfd_siginfo info{};
  while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
      if (!terminate_requested_) {
        terminate_requested_ = true;
        log_.line("termination requested (signal " + std::to_string(info.ssi_signo) + ")");
        if (in_step_) {
          if (!decided_) decided_ = Outcome::kTerminated;
          begin_stop("terminated");
        }
      }
    }
    // Only a node of a multi-node job (its plan has the job's sshd) is released; any other
    // job is not ended by a stray SIGUSR1, as it was not killed by one before.
    if (info.ssi_signo == SIGUSR1 && plan_.services.empty()) {
      log_.line("SIGUSR1 ignored: this job is no multi-node job's part");
    } else if (info.ssi_signo == SIGUSR1 && !released_ && !terminate_requested_) {
      released_ = true;
      log_.line("the job ended on its master node: this node's part ends");
      if (in_step_ && !decided_) {
        decided_ = Outcome::kSucceeded;
        begin_stop("the job ended");
      }
    }
    // SIGCHLD: reap() runs at the top of every loop turn.
  }
}

void Supervisor::reap() {
  for (;;) {
    int wstatus = 0;
    pid_t pid = ::waitpid(-1, &wstatus, WNOHANG);
    if (pid == 0) {
      no_children_ = false;
      return;
    }
    if (pid < 0) {
      no_children_ = errno == ECHILD;
      return;
    }
    for (auto& t : tasks_) {
      if (t.pid == pid && !t.exited) reap_one(t, wstatus, false);
    }
    for (auto& t : services_) {
      if (t.pid == pid && !t.exited) reap_one(t, wstatus, true);
    }
  }
}

// A service that ended before the job fails the step running now, or the next one.
void Supervisor::fail_for_service() {
  if (failed_service_ == nullptr || decided_ || !in_step_) return;
  decided_ = Outcome::kFailed;
  first_failure_ = failed_service_;
  failure_message_ = "the job's " + failed_service_->spec->name + " ended before the job";
  begin_stop("service " + failed_service_->spec->name + " failed");
}

void Supervisor::reap_one(Task& t, int wstatus, bool service) {
  t.exited = true;
  t.exit_code = exit_code_of(wstatus);
  for (auto& r : status_.tasks) {
    if (r.pid == t.pid) r.exit_code = t.exit_code;
  }
  log_.line((service ? "service " : "task ") + t.spec->name + " exited: code " +
            std::to_string(t.exit_code));
  // A failed primary task fails the job, and so does a service that ends before the job; the
  // rest are stopped rather than left to hang.
  if (service) {
    // Failed whenever it ends before the job: decided at once, or by the next step.
    if (!ending_services_ && failed_service_ == nullptr) failed_service_ = &t;
    fail_for_service();
  } else if (t.spec->primary && t.exit_code != 0 && !decided_) {
    decided_ = Outcome::kFailed;
    first_failure_ = &t;
    begin_stop("task " + t.spec->name + " failed");
  }
  save();
}

void Supervisor::pump(Stream& s, bool drain) {
  char buf[kReadChunk];
  do {
    ssize_t n = ::read(s.pipe.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      if (drain) s.pipe.reset();
      return;
    }
    if (n <= 0) {
      s.pipe.reset();
      return;
    }
    if (auto st = s.file->append(buf, static_cast<std::size_t>(n)); !st) {
      log_.line("supervisor: " + st.error().message);
    }
  } while (drain);
}

void Supervisor::begin_stop(const std::string& why) {
  if (stopping_) return;
  stopping_ = true;
  std::int64_t now = mono_ms();
  kill_at_ = now + plan_.grace_ms;
  next_kill_ = kill_at_;
  if (decided_ == Outcome::kTerminated || decided_ == Outcome::kTimedOut) {
    status_.state = JobState::kTerminating;
    save();
  }
  int n = signal_job(SIGTERM);
  if (n > 0 || !why.empty()) {
    log_.line("stopping" + (why.empty() ? std::string() : " (" + why + ")") + ": SIGTERM to " +
              std::to_string(n) + " processes, SIGKILL after " +
              std::to_string(plan_.grace_ms / 1000) + " s");
  }
}

void Supervisor::save() {
  if (auto s = write_status(status_path_, status_); !s) {
    log_.line("supervisor: cannot record status: " + s.error().message);
  }
}

}  // namespace

int run_supervisor(const LaunchPlan& plan, const std::string& status_path, pid_t parent_pid) {
  Supervisor supervisor(plan, status_path);
  return supervisor.run(parent_pid);
}

}  // namespace batchai
