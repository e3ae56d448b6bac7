// The master node's launcher of a multi-node job starts once every other node of the job
// answers on its job-scoped sshd: their job preparation is done and MPI can reach them. The
// wait is bounded; what it waited for is said on the launcher's stderr (stderr.txt).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace batchai {

// Connects to port on each host until all accept or timeout_s passes, then replaces this
// process with command (argv[0] a path). Returns only on failure: the exit status to end with.
int wait_for_peers_then_exec(const std::vector<std::string>& hosts, int port,
                             std::int64_t timeout_s, const std::vector<std::string>& command);

}  // namespace batchai
