// Workspaces, experiments and resource groups in the state: what their deletion takes with it.
// Azure deletes a group's resources with the group; here the jobs are terminated and the
// clusters' nodes leave, and both are forgotten once that has happened (they are hidden from
// then on), so the names are free again only when the work has stopped.
#pragma once

#include <cstdint>
#include <string>

#include "controlplane/model.hpp"
#include "controlplane/store.hpp"

namespace batchai::cp {

// Deletes the cluster: queued and running jobs on it are terminated, its nodes are told to
// leave, and it is forgotten when the last has left (at once when it has none).
void delete_cluster(State& s, const std::string& name, std::int64_t now, Events& events);

// Deletes the workspace's jobs, experiments and clusters, then the workspace.
void delete_workspace(State& s, const std::string& workspace, std::int64_t now, Events& events);

// Deletes every workspace of the group, then the group (key: its lower-case name).
void delete_group(State& s, const std::string& group_key, std::int64_t now, Events& events);

// The workspace of that name in that resource group (matched case-insensitively), or nullptr.
const WorkspaceRecord* find_workspace(const State& s, const std::string& group,
                                      const std::string& workspace);

}  // namespace batchai::cp
