// FIFO gang scheduling: the queued jobs of a cluster are assigned strictly in creation order; a
// job needing nodeCount nodes is assigned when that many of its cluster's registered nodes are
// idle and have no task. A job at the head that does not fit blocks the jobs behind it in its
// cluster, even smaller ones (no backfill): simple and predictable, not efficient.
#pragma once

#include <cstdint>

#include "controlplane/model.hpp"
#include "controlplane/store.hpp"

namespace batchai::cp {

// Assigns what can be assigned now. Returns true when it assigned anything.
bool schedule(State& s, std::int64_t now, Events& events);

}  // namespace batchai::cp
