// Finds the nodes that went silent with tasks (an agent killed for good, a VM that died) and
// fails their tasks as NodeLost, so a gang never waits for a node that is gone.
#pragma once

#include <cstdint>

#include "controlplane/store.hpp"

namespace batchai::cp {

// Runs until the store shuts down, looking once a second. The control plane's start counts as
// the last time every node was heard from, so a restart loses no node.
void sweep_lost_nodes(Store& store, std::int64_t lost_after_ms);

}  // namespace batchai::cp
