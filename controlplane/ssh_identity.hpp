// A multi-node job's SSH identity (protocol::JobSshIdentity): a client key pair that every node
// of the job accepts and a host key every node proves itself with, both ECDSA P-256 (OpenSSH
// reads OpenSSL's PEM for these, so no OpenSSH tool is needed here). Made once per job when it
// is scheduled; it lives in the control plane's state file (0600) and goes to the job's nodes
// with their tasks, never to a user.
#pragma once

#include "common/result.hpp"
#include "protocol/messages.hpp"

namespace batchai::cp {

Result<protocol::JobSshIdentity> make_job_ssh_identity();

}  // namespace batchai::cp
