#include "mount/unmanaged_mount.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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
  bool timed_out = false;
  for (;;) {
    std::int64_t left = deadline - mono_ms();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{out_r.get(), POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) continue;
    char buf[1024];
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the helper (and whatever it started in the foreground) is done
    if (output.size() < kMaxOutput) output.append(buf, static_cast<std::size_t>(n));
  }
  if (timed_out) {
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return err("the mount command did not finish within " + std::to_string(timeout_ms / 1000) +
               " s and was killed" + (output.empty() ? "" : ": " + trimmed(output)));
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
  std::string how = WIFEXITED(status) ? "exited with code " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return err("the mount command " + how + (output.empty() ? "" : ": " + trimmed(output)));
}

}  // namespace batchai
