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
Result<pid_t> start_supervisor(const std::string& job_state_dir, const LaunchPlan& plan);

}  // namespace batchai
