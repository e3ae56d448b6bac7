// The cluster's setup task (nodeSetup.setupTask, reference §2): `bash -c <commandLine>` as root
// after the cluster's volumes are mounted, with its environment, its secrets and
// AZ_BATCHAI_MOUNT_ROOT, through the same supervisor as jobs (live output, process clean-up).
// Output: <stdOutErrPathPrefix>/<stdOutErrPathSuffix>/stdout-<nodeId>.txt, stderr-<nodeId>.txt
// and execution-<nodeId>.log. Once it has succeeded in a boot for a configuration, an agent
// restart does not run it again (<stateDir>/setup.json).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "agent/config/daemon_config.hpp"
#include "agent/node/node_setup.hpp"
#include "exec/job_status.hpp"

namespace batchai {

struct SetupTaskResult {
  std::vector<std::string> log;  // what happened, for the agent's log (no secrets)
  std::vector<JobError> errors;  // non-empty: the node is unusable, and why
};

// while_waiting is called every 100 ms while the task runs (the daemon pings its watchdog).
SetupTaskResult run_setup_task(
    const SetupTaskSpec& task, const DaemonConfig& config, const std::string& boot_id,
    const std::atomic<bool>& stop, const std::function<void()>& while_waiting = [] {});

}  // namespace batchai
