#include "mount/unmanaged_mount.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/fs.hpp"
#include "common/time.hpp"
#include "common/unique_fd.hpp"

namespace batchai {

namespace {

constexpr std::size_t kMaxOutput = 4096;

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

Status run_mount_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         int timeout_ms) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return err("pipe: " + errno_text(errno));
  UniqueFd out_r(p[0]), out_w(p[1]);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return err("fork: " + errno_text(errno));
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out_w.get(), 1) < 0 ||
        ::dup2(out_w.get(), 2) < 0) {
      ::_exit(127);
    }
    ::execve(args[0], args.data(), envp.data());
    const char msg[] = "cannot execute the mount command\n";
    [[maybe_unused]] ssize_t n = ::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  out_w.reset();
  std::string output;
  const std::int64_t deadline = mono_ms() + timeout_ms;
  int status = 0;
  bool open_output = true;
  // The helper's exit wakes the poll below through a pidfd; without one (old kernels) the poll
  // times out every 50 ms to look.
  UniqueFd exit_fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  // Until the helper exits or the deadline passes. The helper's exit decides, not the end of its
  // output: a helper may close its output early (exec >log) and still hang on a dead server, or
  // leave a daemon behind that keeps the output open (FUSE drivers do).
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    std::int64_t left = deadline - mono_ms();
    if (left <= 0) {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return err("the mount command did not finish within " + std::to_string(timeout_ms / 1000) +
                 " s and was killed" + (output.empty() ? "" : ": " + trimmed(output)));
    }
    pollfd pfd[2] = {{open_output ? out_r.get() : -1, POLLIN, 0}, {exit_fd.get(), POLLIN, 0}};
    if (::poll(pfd, 2, static_cast<int>(std::min<std::int64_t>(left, 50))) <= 0) continue;
    if (pfd[0].revents == 0) continue;
    char buf[1024];
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      open_output = false;  // poll ignores a negative fd: from now on it only waits
      continue;
    }
    if (output.size() < kMaxOutput) output.append(buf, static_cast<std::size_t>(n));
  }
  // What the helper wrote before it exited is in the pipe already.
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  for (char buf[1024]; open_output && output.size() < kMaxOutput;) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  std::string how = WIFEXITED(status) ? "exited with code " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return err("the mount command " + how + (output.empty() ? "" : ": " + trimmed(output)));
}

}  // namespace batchai
