// `batchai-agent run-job`: runs a job document on this machine as a one-node job, through the
// same supervisor the daemon uses.
#pragma once

#include <string>
#include <vector>

namespace batchai {

struct RunJobOptions {
  std::string job_file;
  std::string root = "/mnt/batch/tasks";
  std::string name;  // default: the job file's name without .json
  std::string state_dir = "/var/lib/batchai-agent";
  std::vector<std::string> extra_env;  // NAME=VALUE added to the node's base environment
  int grace_seconds = 10;              // SIGTERM -> SIGKILL when stopping the job
  std::string storage_config;          // the storage settings (docs/mounts.md); "" = defaults
  std::string docker_socket = "/var/run/docker.sock";  // the container engine
  std::vector<std::string> container_input_roots;      // see agent.json's containerInputRoots
};

// Exit statuses of run-job, documented in docs/run-job.md.
constexpr int kExitInvalid = 2;       // bad job document or command line
constexpr int kExitWallClock = 124;   // maxWallClockTime exceeded
constexpr int kExitAgentError = 125;  // the agent failed before or around the job (mounts, ...)

int run_job(const RunJobOptions& options);

}  // namespace batchai
