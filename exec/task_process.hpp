// Starting one task of a job: its own session (so its process group can be signalled as one),
// the job's cgroup when there is one, stdin from /dev/null, stdout and stderr into pipes that the
// supervisor drains.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "exec/launch_plan.hpp"

namespace batchai {

struct StartedTask {
  pid_t pid = 0;
  UniqueFd stdout_pipe;  // read ends
  UniqueFd stderr_pipe;
};

// cgroup_procs: the cgroup.procs file the task joins before exec, or "" for none. A failure to
// exec (missing program, bad cwd) comes back as an Error naming the program and the reason.
Result<StartedTask> start_task(const TaskSpec& task, const std::string& cgroup_procs);

}  // namespace batchai
