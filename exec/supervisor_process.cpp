#include "exec/supervisor_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <vector>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "exec/supervisor.hpp"

namespace batchai {

namespace {

constexpr std::size_t kMaxPlanBytes = 256 << 20;

}  // namespace

Result<pid_t> start_supervisor(const SupervisorFiles& files, const LaunchPlan& plan, int held_fd) {
  const std::string& log_path = files.log;
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) return err("cannot open " + log_path + ": " + errno_text(errno));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return err("pipe: " + errno_text(errno));
  UniqueFd plan_r(p[0]), plan_w(p[1]);

  const std::string self = "/proc/self/exe";
  const std::string parent = std::to_string(::getpid());
  std::vector<std::string> args = {"batchai-agent", "supervise",    "--status-file",
                                   files.status,    "--parent-pid", parent};
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const std::string text = plan_to_json(plan);
  pid_t pid = ::fork();
  if (pid < 0) return err("fork: " + errno_text(errno));
  if (pid == 0) {
    // Termination signals stay blocked: one relayed before the supervisor has its signalfd
    // stays pending for it instead of killing it.
    sigset_t mask;
    sigemptyset(&mask);
    for (int sig : {SIGTERM, SIGINT, SIGCHLD, SIGUSR1}) sigaddset(&mask, sig);
    ::sigprocmask(SIG_SETMASK, &mask, nullptr);
    ::setsid();
    if (::dup2(plan_r.get(), 0) < 0 || ::dup2(log.get(), 1) < 0 || ::dup2(log.get(), 2) < 0) {
      ::_exit(127);
    }
    int first_closed = 3;
    if (held_fd >= 0) {
      // dup2 onto itself would keep close-on-exec set, so fd 3 is cleared explicitly.
      if (held_fd == 3 ? ::fcntl(3, F_SETFD, 0) < 0 : ::dup2(held_fd, 3) < 0) ::_exit(127);
      first_closed = 4;
    }
    ::close_range(first_closed, ~0U, CLOSE_RANGE_CLOEXEC);
    ::execv(self.c_str(), argv.data());
    ::_exit(127);
  }
  plan_r.reset();
  std::size_t done = 0;
  // A supervisor that dies before reading all of it closes the pipe: EPIPE, not SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  while (done < text.size()) {
    ssize_t n = ::write(plan_w.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      // Nobody else reaps it: a supervisor without its plan is ended here.
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return err("cannot hand the launch plan to the supervisor: " + errno_text(e));
    }
    done += static_cast<std::size_t>(n);
  }
  return pid;
}

int supervise_plan_from_stdin(const std::string& status_path, pid_t parent_pid) {
  // fd 3 is the node root's lock, held for the job's life; no task may inherit it.
  ::fcntl(3, F_SETFD, FD_CLOEXEC);
  // The plan arrives on a pipe (it holds the job's secrets, so it is never a file).
  std::string plan_text;
  char buf[65536];
  for (ssize_t n; (n = ::read(0, buf, sizeof buf)) != 0;) {
    if (n < 0) {
      std::perror("supervise: reading the launch plan");
      return 1;
    }
    plan_text.append(buf, static_cast<std::size_t>(n));
    if (plan_text.size() > kMaxPlanBytes) {
      std::fputs("supervise: the launch plan is too large\n", stderr);
      return 1;
    }
  }
  int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull >= 0) ::dup2(devnull, 0);
  auto plan = plan_from_json(plan_text);
  if (!plan) {
    std::fputs("supervise: the launch plan is not valid\n", stderr);  // it holds secrets
    return 1;
  }
  return run_supervisor(*plan, status_path, parent_pid);
}

}  // namespace batchai
