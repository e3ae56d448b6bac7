#include "agent/job/shared_job_temp.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "agent/job/job_ssh.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "exec/job_shell.hpp"

extern char** environ;

namespace batchai {

namespace {

// One sshfs: it returns once the mount is made (and goes on in the background), or fails.
// Its messages go to `log` (in the job's SSH directory: they may name the master's paths).
bool try_sshfs(const std::vector<std::string>& words, const std::string& log) {
  std::vector<std::string> copy = words;
  std::vector<char*> argv;
  argv.reserve(copy.size() + 1);
  for (auto& w : copy) argv.push_back(w.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace

std::optional<JobError> mount_shared_job_temp(const GangContext& gang,
                                              const std::string& mount_point,
                                              std::int64_t timeout_ms,
                                              const std::function<int()>& interrupted,
                                              int* interrupted_by) {
  const JobSshPaths ssh = job_ssh_paths(gang.ssh_dir);
  const std::string& log = ssh.sshfs_log;
  const std::vector<std::string> words = {
      gang.sshfs_program, "-o", "ssh_command=" + ssh.ssh_command, "-o",
      std::string("sftp_server=") + kSharedJobTempSftpCommand,
      // A master that stops answering fails the calls on it instead of hanging them forever.
      "-o", "reconnect,ServerAliveInterval=15,ServerAliveCountMax=3",
      // What one node writes the others read at once: rendezvous files are polled (PyTorch's
      // FileStore), so no cached names, attributes or pages.
      "-o", "dir_cache=no,direct_io,attr_timeout=0,entry_timeout=0,negative_timeout=0",
      gang.hosts.front() + ":", mount_point};
  const std::int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    if (try_sshfs(words, log)) return std::nullopt;
    if (const int why = interrupted ? interrupted() : 0; why != 0) {
      *interrupted_by = why;
      return JobError{"JobTerminate", "stopped before the job started", {}};
    }
    if (mono_ms() >= deadline) break;
    ::usleep(1000 * 1000);
  }
  auto said = read_file(log, 4096);
  return JobError{"JobSetupFailed",
                  "cannot mount the master's shared job temp (" + gang.hosts.front() + ") at " +
                      mount_point + " within " + std::to_string(timeout_ms / 1000) + " s",
                  {{"sshfs", said ? *said : std::string()}}};
}

}  // namespace batchai
