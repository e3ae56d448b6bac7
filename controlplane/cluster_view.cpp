#include "controlplane/views.hpp"

#include "common/time.hpp"
#include "controlplane/names.hpp"
#include "controlplane/redact.hpp"

namespace batchai::cp {

using nlohmann::json;

json view_cluster(const State& s, const ClusterRecord& c) {
  std::int64_t idle = 0, running = 0, preparing = 0, unusable = 0, leaving = 0, total = 0;
  // Why nodes are unusable, each error with the node it came from: Batch AI said nothing, and
  // that was its users' worst experience (reference §7).
  json errors = nullptr;
  for (const auto& [id, n] : s.nodes) {
    if (n.cluster != c.name) continue;
    ++total;
    const std::string& st = n.node_state;
    if (st == "unusable" && n.errors.is_array()) {
      if (errors.is_null()) errors = json::array();
      for (json e : n.errors) {
        if (!e.is_object()) continue;
        if (!e.contains("details") || !e["details"].is_array()) e["details"] = json::array();
        e["details"].push_back({{"name", "nodeId"}, {"value", id}});
        errors.push_back(std::move(e));
      }
    }
    if (st == "idle") ++idle;
    if (st == "running") ++running;
    if (st == "preparing") ++preparing;
    if (st == "unusable") ++unusable;
    if (st == "leaving") ++leaving;
  }
  const std::string created = iso8601_utc(c.creation_ms);
  return {
      {"allocationState", "steady"},
      {"allocationStateTransitionTime", created},
      {"creationTime", created},
      {"currentNodeCount", total},
      {"errors", errors},
      {"id", cluster_resource_id(c.resource_group, c.workspace, c.name)},
      {"location", "local"},
      {"name", c.name},
      {"nodeSetup", redact_node_setup(c.node_setup)},
      {"nodeStateCounts",
       {{"idleNodeCount", idle},
        {"leavingNodeCount", leaving},
        {"preparingNodeCount", preparing},
        {"runningNodeCount", running},
        {"unusableNodeCount", unusable}}},
      {"provisioningState", "succeeded"},
      {"provisioningStateTransitionTime", iso8601_utc(c.modified_ms)},
      {"resourceGroup", group_or_default(c.resource_group)},
      {"scaleSettings", c.scale_settings},
      {"subnet", nullptr},
      {"tags", nullptr},
      {"type", "Microsoft.BatchAI/Clusters"},
      {"userAccountSettings", redact_user_account(c.user_account_settings)},
      {"virtualMachineConfiguration", c.vm_configuration},
      {"vmPriority", c.vm_priority.is_null() ? json("dedicated") : c.vm_priority},
      {"vmSize", c.vm_size},
  };
}

}  // namespace batchai::cp
