// The per-job supervisor (like Slurm's slurmstepd or Nomad's executor): a small process of its
// own that starts the job's tasks, holds their pipes and writes their output files, enforces
// maxWallClockTime and termination, and records the job's state atomically in status.json. It is
// not the agent's main process, so the job and its log capture outlive an agent restart.
//
// Termination: SIGTERM (or SIGINT) to the supervisor terminates the job: SIGTERM to every
// process of the job, SIGKILL to what is left after the grace period. No process of the job
// outlives the supervisor's return: it is their subreaper and waits until none is left.
//
// Release: SIGUSR1 says the job ended on its master node (multi-node jobs): this node's part is
// stopped the same way, and counts as succeeded unless it had already failed.
#pragma once

#include <string>

#include "exec/launch_plan.hpp"

namespace batchai {

// Runs the plan to its end and writes the final status. Returns 0 when a final status was
// recorded (whatever the job's result), non-zero when the supervisor itself failed.
int run_supervisor(const LaunchPlan& plan, const std::string& status_path, pid_t parent_pid);

}  // namespace batchai
