// batchai-job-shell: what the job-scoped sshd of a multi-node job runs for every session (its
// ForceCommand): the session's command (OpenMPI's orted, a user's `ssh host cmd`) in the job's
// environment and working directory, as the node's own tasks get them, so a process MPI starts
// on this node sees the same AZ_BATCHAI_* variables as one the agent starts. Static, so the same
// binary serves the node's own sshd and, bound in at /.batchai/job-shell, the sshd of a
// container job's image. The environment file is written by the agent, root-only
// (agent/job/job_ssh.hpp): the working directory, then NAME=VALUE entries, each ended by a NUL.
//
// Until the node is ready (a file `ready` beside the environment file: its job preparation is
// done) a session is refused with exit status 75, but for the one that serves the node's
// shared job temp to the job's other nodes (sshfs), which they mount before theirs.
#pragma once

#include <string>

namespace batchai {

// The command other nodes' sshfs asks for, the shared job temp: job-shell runs the node's (or
// the image's) OpenSSH sftp server in this node's AZ_BATCHAI_SHARED_JOB_TEMP. A name with a
// slash: sshfs takes one without for a subsystem, which the ForceCommand would not see.
inline constexpr const char* kSharedJobTempSftpCommand = "batchai/shared-job-temp";

// What an agent before batchai-job-shell had other nodes' sshfs ask for: still served, so the
// nodes of a gang that an upgrade caught halfway mount each other's shared job temp.
inline constexpr const char* kLegacySharedJobTempSftpCommand =
    "/usr/lib/openssh/sftp-server -d \"$AZ_BATCHAI_SHARED_JOB_TEMP\"";

// Where a container job's image sees the static job-shell (bound in read-only).
inline constexpr const char* kJobShellInContainer = "/.batchai/job-shell";

// Replaces this process with `bash --norc -c "$SSH_ORIGINAL_COMMAND"` (sh where the image has no
// bash; the shell itself for a session with no command), or with the sftp server for the shared job
// temp. Returns only on failure: the exit status to end with (after saying why).
int run_job_shell(const std::string& environment_file);

// OpenSSH's sftp server here, where the distributions put it; nullptr when there is none.
const char* sftp_server_path();

// `batchai-job-shell --find-sftp-server`: prints the sftp server it would run for the shared
// job temp and exits 0, or says there is none and exits 1 (the agent's check of an image).
int find_sftp_server_command();

}  // namespace batchai
