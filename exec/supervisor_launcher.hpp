// Starting a job's supervisor: `batchai-agent supervise` re-executed from this binary, in a
// session of its own, its stdout and stderr in <job state dir>/supervisor.log, the launch plan
// (with the job's secrets) fed through a pipe on its stdin, never through a file or argv.
#pragma once

#include <sys/types.h>

#include <string>

#include "common/result.hpp"
#include "exec/launch_plan.hpp"

namespace batchai {

// job_state_dir must exist (0700). Returns the supervisor's pid; the caller is its parent.
// held_fd, when given, stays open in the supervisor (as fd 3) for its whole life: a lock on the
// node's root held by the file description keeps the root locked until the job has ended, even
// if the agent dies first.
Result<pid_t> start_supervisor(const std::string& job_state_dir, const LaunchPlan& plan,
                               int held_fd = -1);

}  // namespace batchai
