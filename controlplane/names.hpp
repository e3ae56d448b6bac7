// Names and identifiers of the control plane's objects: validation, keys, task ids, output
// segments and Batch AI-style resource ids.
#pragma once

#include <optional>
#include <string>

namespace batchai::cp {

// The fixed subscription and resource group of jobOutputDirectoryPathSegment and resource ids:
// this control plane has no Azure subscription, so it uses these constants.
inline constexpr const char* kSubscription = "00000000-0000-0000-0000-000000000000";
inline constexpr const char* kResourceGroup = "batchai.local";
// The tenant the subscription belongs to: `az login --tenant` names it.
inline constexpr const char* kTenant = "00000000-0000-0000-0000-00000000a11c";

// Workspace, experiment, job and cluster names: ^[-\w_]+$, 1 to 64 characters (ASCII).
bool is_valid_name(const std::string& name);
// Node ids: letters, digits, '.', '_', '-', 1 to 256 characters, not starting with '.'.
bool is_valid_node_id(const std::string& id);

// "<ws>/<exp>/<job>": the key of a job in the state.
std::string job_key(const std::string& ws, const std::string& exp, const std::string& job);
// The resource group and workspace of a record made before there were any (an older state):
// "" stands for these. The control plane makes them at start, with kDefaultExperiment in the
// workspace, so a user who names nothing works there.
inline constexpr const char* kDefaultWorkspace = "default";
inline constexpr const char* kDefaultExperiment = "default";
std::string group_or_default(const std::string& resource_group);
std::string workspace_or_default(const std::string& workspace);

// "<sub>/<rg>/workspaces/<ws>/experiments/<exp>/jobs/<job>/<uuid>" (reference section 5).
std::string output_segment(const std::string& rg, const std::string& ws, const std::string& exp,
                           const std::string& job, const std::string& uuid);
// "<ws>/<exp>/<job>/<uuid>/<taskIndex>".
std::string task_id(const std::string& ws, const std::string& exp, const std::string& job,
                    const std::string& uuid, int index);

struct TaskRef {
  std::string job_key;
  std::string uuid;
  int index = 0;
};
std::optional<TaskRef> parse_task_id(const std::string& id);

// Resource ids: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.BatchAI/...
std::string group_resource_id(const std::string& rg);
std::string workspace_resource_id(const std::string& rg, const std::string& ws);
std::string experiment_resource_id(const std::string& rg, const std::string& ws,
                                   const std::string& exp);
std::string job_resource_id(const std::string& rg, const std::string& ws, const std::string& exp,
                            const std::string& job);
std::string cluster_resource_id(const std::string& rg, const std::string& ws,
                                const std::string& cluster);

}  // namespace batchai::cp
