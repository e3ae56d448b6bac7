// A multi-node job's SSH on this node, in <state dir>/jobs/<job uuid>/ssh/ (0700, root only, never
// below the node root where a job could reach it):
//   id_ecdsa, host_key           the job's client key and host key (protocol::JobSshIdentity)
//   authorized_keys              the job's public key: the only key the job's sshd accepts
//   known_hosts                  every node of the job as [ip]:port with the job's host key
//   ssh_config, ssh              the client settings, and `ssh` with them (first on the job's
//                                PATH and OpenMPI's plm_rsh_agent): no prompt, nothing else
//   sshd_config                  the job's sshd: key only, root only, its sessions through
//                                `batchai-job-shell environment` (exec/job_shell.hpp)
//   environment                  the job's environment for those sessions (secrets included)
//   ready                        made by the supervisor once the node's job preparation is done:
//                                until then its sshd serves only the shared job temp
//   sshfs.log                    what sshfs said, mounting the master's shared job temp
// Removed when the job is taken down.
#pragma once

#include <string>
#include <vector>

#include "agent/job/gang.hpp"
#include "common/result.hpp"
#include "protocol/messages.hpp"

namespace batchai {

struct JobSshPaths {
  std::string dir;
  std::string private_key;
  std::string host_key;
  std::string authorized_keys;
  std::string known_hosts;
  std::string ssh_config;
  std::string ssh_command;
  std::string sshd_config;
  std::string environment;
  std::string ready;
  std::string sshfs_log;  // what sshfs said when it mounted the master's shared job temp
};
JobSshPaths job_ssh_paths(const std::string& dir);

// sshd's privilege separation directory, which Debian's package makes through systemd: a job
// whose sshd runs on the node makes it when the node has none.
inline constexpr const char* kSshdPrivilegeSeparationDir = "/run/sshd";

// Debian's openssh-client.
inline constexpr const char* kSshProgram = "/usr/bin/ssh";

// The job's sshd in the foreground, logging to its stderr.
std::vector<std::string> sshd_argv(const GangContext& gang, const JobSshPaths& paths);

// Writes every file above for this node of the gang. `environment` is the job's ("NAME=VALUE"),
// `cwd` where sessions start, `job_shell` the sessions' shell where sshd runs (the node, or a
// container job's image).
Status write_job_ssh(const GangContext& gang, const protocol::JobSshIdentity& identity,
                     const std::vector<std::string>& environment, const std::string& cwd,
                     const std::string& job_shell);

// The directory and everything in it; warnings.
std::vector<std::string> remove_job_ssh(const std::string& dir);

}  // namespace batchai
