// What the job-scoped sshd of a multi-node job runs for every session (its ForceCommand): the
// session's command (OpenMPI's orted, a user's `ssh host cmd`) in the job's environment and
// working directory, as the node's own tasks get them, so a process MPI starts on this node
// sees the same AZ_BATCHAI_* variables as one the agent starts. The environment file is
// written by the agent, root-only (agent/job/job_ssh.hpp): the working directory, then
// NAME=VALUE entries, each ended by a NUL.
//
// Until the node is ready (a file `ready` beside the environment file: its job preparation is
// done) a session is refused with exit status 75, but for the one that serves the node's
// shared job temp to the job's other nodes (sshfs), which they mount before theirs.
#pragma once

#include <string>

namespace batchai {

// The command other nodes' sshfs runs for the shared job temp: the sftp server of Debian's
// openssh-sftp-server, started in this node's AZ_BATCHAI_SHARED_JOB_TEMP (bash expands it).
inline constexpr const char* kSharedJobTempSftpCommand =
    "/usr/lib/openssh/sftp-server -d \"$AZ_BATCHAI_SHARED_JOB_TEMP\"";

// Replaces this process with `bash -c "$SSH_ORIGINAL_COMMAND"` (or bash itself for a session
// with no command). Returns only on failure: the exit status to end with (after saying why).
int run_job_shell(const std::string& environment_file);

}  // namespace batchai
