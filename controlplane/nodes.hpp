// The node side of the state: registration, state reports and the desired state a node polls.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "controlplane/api_error.hpp"
#include "controlplane/model.hpp"
#include "controlplane/store.hpp"
#include "protocol/messages.hpp"

namespace batchai::cp {

// Registers or re-registers node_id. A new bootId resets the node's reported state (its
// reports now count from that boot on); the desired state is kept.
std::optional<ApiError> register_node(State& s, const std::string& node_id,
                                      const protocol::RegisterRequest& req, std::int64_t now,
                                      Events& events);

// The register response: the cluster's nodeSetup with its userAccountSettings, null when none.
protocol::RegisterResponse register_response(const State& s, const std::string& node_id,
                                             const protocol::PollSettings& poll);

struct ReportOutcome {
  std::int64_t acknowledged = 0;
  bool applied = false;  // false: an old or repeated report, ignored
};

// Applies report if its (bootId, sequence) is newer than the last applied one: node state and
// errors, the state and executionInfo of each of the node's tasks, the jobs' states; a task
// whose final state is stored leaves the node's desired state. Then schedules.
std::optional<ApiError> apply_report(State& s, const std::string& node_id,
                                     const protocol::NodeReport& report, std::int64_t now,
                                     ReportOutcome& outcome, Events& events);

// The node's desired state as the node receives it (job documents with their secrets).
protocol::DesiredState desired_state_of(const State& s, const NodeRecord& node,
                                        const protocol::PollSettings& poll);

// Bumps the node's desired-state version (after a change of its tasks).
void bump(NodeRecord& node);

// Scale-down: when the cluster's manual targetNodeCount is below its nodes, the surplus (idle
// ones first) is told to leave with the cluster's nodeDeallocationOption.
void plan_scale_down(State& s, const ClusterRecord& c, Events& events);

// Nodes with tasks not heard from since `silent_since` (the later of their last request and
// `heard_floor`, the control plane's start): their unfinished tasks fail as NodeLost, the node
// is unusable until it reports again, and their gangs end. Returns whether anything changed.
bool expire_lost_nodes(State& s, std::int64_t now, std::int64_t lost_after_ms,
                       std::int64_t heard_floor, Events& events);

// A deleted cluster is forgotten once none of its nodes is left.
void forget_deleted_cluster(State& s, const std::string& cluster, Events& events);

// A node that has left (DELETE /v1/nodes/{id}, after its tasks ended): forgotten.
bool remove_node(State& s, const std::string& node_id, Events& events);

}  // namespace batchai::cp
