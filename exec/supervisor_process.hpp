// A job's supervisor as a process of its own, both ends: the agent starts `batchai-agent
// supervise` re-executed from this binary, in a session of its own, its stdout and stderr in
// SupervisorFiles::log, and feeds it the launch plan (with the job's secrets) through a
// pipe on its stdin, never through a file or argv; the supervisor reads the plan and runs it.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.hpp"
#include "exec/launch_plan.hpp"

namespace batchai {

// Where a supervisor writes: its record of the job (status.json) and its own stdout and stderr.
// Their directory must exist (0700); the agent's layout names them (agent/job/layout.hpp).
struct SupervisorFiles {
  std::string status;
  std::string log;
};

// Returns the supervisor's pid; the caller is its parent. held_fd, when given, stays open in the
// supervisor (as fd 3) for its whole life: a lock on the node's root held by the file description
// keeps the root locked until the job has ended, even if the agent dies first.
Result<pid_t> start_supervisor(const SupervisorFiles& files, const LaunchPlan& plan,
                               int held_fd = -1);

// The supervisor's end (`batchai-agent supervise`): reads the plan from stdin to its end, then
// runs it (exec/supervisor.hpp), recording the job in status_path. Returns the exit status.
int supervise_plan_from_stdin(const std::string& status_path, pid_t parent_pid);

}  // namespace batchai
