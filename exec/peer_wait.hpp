// The master node's launcher of a multi-node job starts once every other node of the job is
// ready: its job-scoped sshd takes the job's sessions, which it does once that node's job
// preparation is done (exec/job_shell.hpp). The wait is bounded; what it waited for is said on
// the launcher's stderr (stderr.txt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace batchai {

// Runs `ssh HOST true` (ssh: the job's ssh) for each host until each has succeeded once or
// timeout_s passes, then replaces this process with command (argv[0] a path). Returns only on
// failure: the exit status to end with.
int wait_for_peers_then_exec(const std::string& ssh, const std::vector<std::string>& hosts,
                             std::int64_t timeout_s, const std::vector<std::string>& command);

}  // namespace batchai
