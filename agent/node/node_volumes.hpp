// The cluster's volumes (nodeSetup.mountVolumes, reference §2 and §6): mounted below
// $AZ_BATCHAI_MOUNT_ROOT when the daemon starts, before the node takes jobs, and left mounted
// while it runs (its jobs write there, and they outlive an agent restart).
#pragma once

#include <string>
#include <vector>

#include "agent/config/daemon_config.hpp"
#include "common/job_error.hpp"
#include "jobspec/volume.hpp"

namespace batchai {

struct NodeVolumesResult {
  std::vector<std::string> mounted;  // one line per volume, for the agent's log
  std::vector<JobError> errors;      // non-empty: the node is unusable, and says why
};

// Mounts the cluster's volumes (nodeSetup.mountVolumes, agent/node/node_setup.hpp). A volume
// already mounted at its place (the agent restarted) is kept; anything else mounted below the
// mount root is a leftover and is unmounted first.
NodeVolumesResult mount_node_volumes(const std::vector<MountVolume>& volumes,
                                     const DaemonConfig& config);

}  // namespace batchai
