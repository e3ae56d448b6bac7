// The node's own set-up while it is `preparing` (reference §2): its nodeSetup read and checked
// whole, then the cluster's volumes, the admin account and the setup task, in that order and
// each only when what came before succeeded. Runs on the main loop at start and after a newer
// cluster configuration; the watchdog is served throughout.
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "agent/config/daemon_config.hpp"
#include "agent/daemon/watchdog.hpp"
#include "common/job_error.hpp"

namespace batchai {

// Returns what makes the node unusable: empty when it is ready for jobs. A success is recorded
// (prepared.json: the boot and a digest of the nodeSetup).
std::vector<JobError> prepare_node(const nlohmann::json& node_setup, const DaemonConfig& config,
                                   const std::string& boot_id, const std::atomic<bool>& stop,
                                   const Watchdog& watchdog);

// Whether this boot prepared the node for this nodeSetup already (the agent restarted since):
// then the node is not reported preparing while its set-up is checked again.
bool prepared_in_this_boot(const nlohmann::json& node_setup, const DaemonConfig& config,
                           const std::string& boot_id);

}  // namespace batchai
