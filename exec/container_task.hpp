// One task of a container job, as the supervisor runs it: `batchai-agent container-exec`
// execs argv in the job's container through the engine, with this process's environment, and
// writes the command's stdout and stderr to its own (the supervisor's pipes), so capture, live
// flushing and exit codes work as for a task on the host. SIGTERM or SIGINT to it are passed to
// the container's processes (through its PID 1, batchai-pause); it exits with the command's code.
#pragma once

#include <string>
#include <vector>

namespace batchai {

int run_container_task(const std::string& socket, const std::string& container,
                       const std::string& workdir, const std::vector<std::string>& argv);

}  // namespace batchai
