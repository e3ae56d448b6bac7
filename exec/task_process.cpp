#include "exec/task_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "common/fs.hpp"

namespace batchai {

namespace {

// What the child reports through the exec-status pipe when it cannot start the program.
struct ChildFailure {
  int stage;  // 0 cgroup, 1 stdio, 2 chdir, 3 exec, 4 oom_score_adj
  int error;
};

[[noreturn]] void child_fail(int fd, int stage) {
  ChildFailure f{stage, errno};
  [[maybe_unused]] ssize_t n = ::write(fd, &f, sizeof f);
  ::_exit(127);
}

constexpr int kPipeBytes = 1 << 20;

}  // namespace

Result<StartedTask> start_task(const TaskSpec& task, const std::string& cgroup_procs) {
  int out[2], errp[2], status[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return err("pipe: " + errno_text(errno));
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(errp, O_CLOEXEC) != 0) return err("pipe: " + errno_text(errno));
  UniqueFd err_r(errp[0]), err_w(errp[1]);
  if (::pipe2(status, O_CLOEXEC) != 0) return err("pipe: " + errno_text(errno));
  UniqueFd status_r(status[0]), status_w(status[1]);
  // Larger pipes mean fewer wake-ups for a chatty task; the default is fine if refused.
  ::fcntl(out_w.get(), F_SETPIPE_SZ, kPipeBytes);
  ::fcntl(err_w.get(), F_SETPIPE_SZ, kPipeBytes);

  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) return err("cannot open /dev/null: " + errno_text(errno));
  UniqueFd cgroup;
  if (!cgroup_procs.empty()) {
    cgroup.reset(::open(cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!cgroup.valid()) return err("cannot open " + cgroup_procs + ": " + errno_text(errno));
  }

  // Everything the child needs is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> argv, envp;
  for (const auto& a : task.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : task.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // The agent's unit protects it from the OOM killer (OOMScoreAdjust=-500); a task is never
  // less killable than a normal process, so a job that exhausts memory is the one that goes.
  const auto adj = read_file("/proc/self/oom_score_adj", 64);
  const bool reset_oom_adj = adj && std::atoi(adj->c_str()) < 0;

  pid_t pid = ::fork();
  if (pid < 0) return err("fork: " + errno_text(errno));
  if (pid == 0) {
    if (reset_oom_adj) {
      int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
      if (fd >= 0 && ::write(fd, "0", 1) != 1) child_fail(status_w.get(), 4);
      if (fd >= 0) ::close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
    }
    ::setsid();
    if (cgroup.valid() && ::write(cgroup.get(), "0", 1) != 1) child_fail(status_w.get(), 0);
    if (::dup2(devnull.get(), 0) < 0 || ::dup2(out_w.get(), 1) < 0 || ::dup2(err_w.get(), 2) < 0) {
      child_fail(status_w.get(), 1);
    }
    if (::chdir(task.cwd.c_str()) != 0) child_fail(status_w.get(), 2);
    ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execve(argv[0], argv.data(), envp.data());
    child_fail(status_w.get(), 3);
  }
  status_w.reset();
  out_w.reset();
  err_w.reset();
  ChildFailure failure{};
  ssize_t n;
  do {
    n = ::read(status_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(pid, nullptr, 0);
    std::string what;
    switch (failure.stage) {
      case 0:
        what = "cannot join the job's cgroup";
        break;
      case 1:
        what = "cannot set up stdin, stdout and stderr";
        break;
      case 2:
        what = "cannot change to the working directory " + task.cwd;
        break;
      case 4:
        what = "cannot reset the OOM score adjustment inherited from the agent";
        break;
      default:
        what = "cannot execute " + task.argv[0];
        break;
    }
    return err(what + ": " + errno_text(failure.error));
  }
  return StartedTask{pid, std::move(out_r), std::move(err_r)};
}

}  // namespace batchai
