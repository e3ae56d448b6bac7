#include "agent/job/shared_job_temp.hpp"

#include <unistd.h>

#include <cerrno>
#include <vector>

#include "agent/job/job_ssh.hpp"
#include "common/child_process.hpp"
#include "common/fs.hpp"
#include "common/time.hpp"
#include "exec/job_shell.hpp"

namespace batchai {

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
    // sshfs returns once the mount is made (and goes on in the background), or fails. What it
    // says goes to the job's SSH directory: it may name the master's paths.
    if (run_to_end(words, log) == 0) return std::nullopt;
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
