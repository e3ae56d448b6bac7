// Running a helper program to its end: stdin from /dev/null, stdout and stderr to one file (or
// /dev/null), the caller's environment. For short helpers the agent waits on (ssh probes, sshfs
// mounting); jobs' processes go through the supervisor instead.
#pragma once

#include <string>
#include <vector>

namespace batchai {

// argv[0] is a path. Returns the exit status, 128 + the signal for one killed by a signal, or -1
// when it could not start. `output` is created 0600 (truncated); "" for /dev/null.
int run_to_end(const std::vector<std::string>& argv, const std::string& output = "");

}  // namespace batchai
