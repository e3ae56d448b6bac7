// mountVolumes (reference §6): the four kinds of volume and their rules. Shared by the job
// document's parser, the node's set-up (nodeSetup.mountVolumes) and the control plane, which
// checks a cluster's volumes as its nodes will.
#pragma once

#include <vector>

#include "common/diagnostics.hpp"
#include "common/json_reader.hpp"
#include "jobspec/volume.hpp"

namespace batchai {

// Reads props.mountVolumes (job level) or nodeSetup.mountVolumes (cluster level) into out.
void read_mount_volumes(JsonReader& parent, std::vector<MountVolume>& out, Diagnostics& d);

}  // namespace batchai
