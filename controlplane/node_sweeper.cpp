#include "controlplane/node_sweeper.hpp"

#include <algorithm>

#include "common/time.hpp"
#include "controlplane/nodes.hpp"

namespace batchai::cp {

void sweep_lost_nodes(Store& store, std::int64_t lost_after_ms) {
  const std::int64_t started = wall_ms();
  while (store.wait_unless_stopping(1000)) {
    const std::int64_t now = wall_ms();
    // A look under the lock first: the copy a change makes is not paid every second.
    const bool any_lost = store.read([&](const State& s) {
      return std::any_of(s.nodes.begin(), s.nodes.end(), [&](const auto& entry) {
        const NodeRecord& n = entry.second;
        return !n.tasks.empty() && now - std::max(n.last_seen_ms, started) >= lost_after_ms;
      });
    });
    if (!any_lost) continue;
    (void)store.modify([&](State& s, Events& events) {
      return expire_lost_nodes(s, now, lost_after_ms, started, events);
    });
  }
}

}  // namespace batchai::cp
