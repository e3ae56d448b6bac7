// Pieces of the job parser shared between its source files.
#pragma once

#include <vector>

#include "agent/diagnostics.hpp"
#include "agent/job_spec.hpp"
#include "agent/json_reader.hpp"

namespace batchai {

void read_toolkit(JsonReader& props, Toolkit kind, JobSpec& spec, Diagnostics& d);

// Reads props.mountVolumes (job level) or nodeSetup.mountVolumes (cluster level) into out.
void read_mount_volumes(JsonReader& parent, std::vector<MountVolume>& out, Diagnostics& d);

}  // namespace batchai
