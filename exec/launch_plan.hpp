// What a job supervisor runs: steps of tasks, each task a ready argv, environment and output
// files. The agent builds it (agent/job/launch_planner.hpp) and hands it to the supervisor through
// a pipe, so the secrets in its environment never sit in a file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace batchai {

struct TaskSpec {
  std::string name;               // "job_prep", "main", "0", "wk-0", "ps-1"
  std::vector<std::string> argv;  // argv[0] is the resolved path of the program
  std::vector<std::string> env;   // "NAME=VALUE"
  std::string cwd;
  std::string stdout_path;
  std::string stderr_path;
  bool primary = true;  // the step ends when every primary task has exited
};

struct StepSpec {
  std::string name;          // "jobPreparation", "job"
  std::string failure_code;  // "JobPreparationFailed", "JobFailed"
  std::vector<TaskSpec> tasks;
  // A node of a multi-node job other than the master keeps the job's place: the step does not
  // end when its primary tasks have, only when the job ends (SIGUSR1: the master ended it),
  // is terminated or runs out of time. Its processes (sshd, what MPI starts) stay meanwhile.
  bool hold = false;
};

struct LaunchPlan {
  std::string job_id;
  std::string job_name;
  std::string execution_log;           // path of execution.log
  std::int64_t deadline_wall_ms = 0;   // maxWallClockTime as an absolute time; 0 for none
  std::int64_t max_wall_clock_ms = 0;  // the limit itself, for messages
  std::int64_t grace_ms = 10000;       // SIGTERM -> SIGKILL
  // Processes still alive this long after SIGKILL cannot be killed (stuck in the kernel, on a
  // dead file server): the job's status says so, and the daemon makes the node unusable.
  std::int64_t unkillable_after_ms = 60000;
  bool end_with_parent = false;  // run-job: the job ends if run-job dies
  std::string cgroup_parent;     // cgroup v2 directory to create the job's cgroup in; "" none
  // The node root: the supervisor opens the output files and execution.log below it beneath
  // it, with no symbolic link followed on the way (common/beneath.hpp). "": plain opens.
  std::string files_root;
  // Processes the whole job needs, started before its first step and stopped when it ends (a
  // multi-node job's sshd). One that exits before then fails the job; a step's end leaves them.
  std::vector<TaskSpec> services;
  // Created (empty, 0600) when the last step starts, once every step before it (job
  // preparation) has succeeded: a multi-node job's node is ready for the master. "" for none.
  std::string ready_file;
  std::vector<StepSpec> steps;
};

std::string plan_to_json(const LaunchPlan& plan);
Result<LaunchPlan> plan_from_json(const std::string& text);

}  // namespace batchai
