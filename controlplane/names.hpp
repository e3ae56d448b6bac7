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

// Workspace, experiment, job and cluster names: ^[-\w_]+$, 1 to 64 characters (ASCII).
bool is_valid_name(const std::string& name);
// Node ids: letters, digits, '.', '_', '-', 1 to 256 characters, not starting with '.'.
bool is_valid_node_id(const std::string& id);

// "<ws>/<exp>/<job>": the key of a job in the state.
std::string job_key(const std::string& ws, const std::string& exp, const std::string& job);
// "<sub>/<rg>/workspaces/<ws>/experiments/<exp>/jobs/<job>/<uuid>" (reference section 5).
std::string output_segment(const std::string& ws, const std::string& exp, const std::string& job,
                           const std::string& uuid);
// "<ws>/<exp>/<job>/<uuid>/<taskIndex>".
std::string task_id(const std::string& ws, const std::string& exp, const std::string& job,
                    const std::string& uuid, int index);

struct TaskRef {
  std::string job_key;
  std::string uuid;
  int index = 0;
};
std::optional<TaskRef> parse_task_id(const std::string& id);

std::string job_resource_id(const std::string& ws, const std::string& exp, const std::string& job);
std::string cluster_resource_id(const std::string& cluster);

}  // namespace batchai::cp
