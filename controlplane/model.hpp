// The control plane's whole state: clusters, nodes and jobs. It is a plain value: the store
// changes a copy, saves it as one JSON file and only then makes it the current state.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/messages.hpp"

namespace batchai::cp {

// A resource group of the resource-manager API (controlplane/arm_groups.cpp). Its name is
// matched case-insensitively, as Azure does; the key of State::resource_groups is lower case.
struct ResourceGroupRecord {
  std::string name;  // as first written
  std::string location;
  nlohmann::json tags;  // object or null
  std::int64_t creation_ms = 0;
};

// A Batch AI workspace. Workspace names are unique on this control plane (not per resource
// group): jobs are keyed by workspace, experiment and name.
struct WorkspaceRecord {
  std::string name;
  std::string resource_group;
  std::string location;
  nlohmann::json tags;
  std::int64_t creation_ms = 0;
};

struct ExperimentRecord {
  std::string workspace;
  std::string name;
  std::int64_t creation_ms = 0;
};

struct ClusterRecord {
  std::string name;
  // The workspace the cluster belongs to, and its resource group (empty: a cluster made before
  // there were workspaces, shown in the default one). Cluster names are unique on this control
  // plane: nodes join a cluster by name.
  std::string workspace;
  std::string resource_group;
  nlohmann::json vm_configuration;       // virtualMachineConfiguration, shown, not acted on
  bool deleting = false;                 // deleted: its nodes leave, then it goes
  nlohmann::json node_setup;             // null when none; holds secrets
  nlohmann::json user_account_settings;  // null when none; holds the admin password
  nlohmann::json scale_settings;         // null when none; shown, not acted on
  nlohmann::json vm_size;                // string or null
  nlohmann::json vm_priority;            // string or null
  std::int64_t config_version = 1;       // grows on every PUT
  std::int64_t creation_ms = 0;
  std::int64_t modified_ms = 0;
};

struct NodeRecord {
  std::string id;
  std::string cluster;
  protocol::RegisterRequest facts;  // from the last registration, with its bootId
  std::int64_t registered_ms = 0;
  std::int64_t last_seen_ms = 0;  // saved with the next change, not on every poll
  // Reported state, from the reports of facts.boot_id only.
  std::optional<std::int64_t> last_sequence;
  std::string node_state = "preparing";  // until the node's first report
  nlohmann::json errors = nlohmann::json::array();
  // Desired state: the ids of the tasks the node should run. The version only grows.
  std::int64_t desired_version = 1;
  std::vector<std::string> tasks;
  // Scale-down: the deallocation option the node leaves with ("" while it stays).
  std::string leave;
  nlohmann::json heartbeat;  // the facts of the node's last report that had them
};

struct TaskRecord {
  std::string task_id;
  int index = 0;
  std::string node_id;
  std::string state = "queued";
  protocol::ExecutionInfo info;
  bool reported = false;   // the node has reported this task at least once
  bool terminate = false;  // in the desired state as terminate: true
  // Multi-node: the job ended on its master (task 0), so this task ends its part, and its end is
  // no failure of the job (in the desired state as jobEnded: true).
  bool released = false;
};

struct JobRecord {
  std::string resource_group;  // empty: a job made before there were resource groups
  std::string workspace;
  std::string experiment;
  std::string name;
  std::string uuid;
  std::string cluster;
  nlohmann::json properties;  // the document's properties ($schema inside), secrets included
  std::int64_t node_count = 1;
  std::string tool_type;
  std::int64_t seq = 0;  // creation order, for FIFO scheduling
  std::int64_t creation_ms = 0;
  std::string state = "queued";  // executionState
  std::int64_t state_ms = 0;     // executionStateTransitionTime
  std::optional<protocol::ExecutionInfo> info;
  bool terminate = false;  // the user asked for termination
  // The user deleted the job: it is terminated, hidden from every view, and forgotten once its
  // tasks are final (its name is taken until then).
  bool deleted = false;
  // A node of the job left the cluster with "requeue" and stopped its task: once every task of
  // the gang is final, the job goes back to the queue (the last to report may be another node).
  bool requeue = false;
  std::vector<std::string> hosts;
  std::vector<TaskRecord> tasks;  // empty until the job is assigned to nodes
  // Multi-node: the job's SSH identity, made when it is assigned (controlplane/ssh_identity.hpp).
  std::optional<protocol::JobSshIdentity> ssh;
};

struct State {
  std::int64_t next_job_seq = 1;
  std::map<std::string, ResourceGroupRecord> resource_groups;  // by lower-case name
  std::map<std::string, WorkspaceRecord> workspaces;
  std::map<std::string, ExperimentRecord> experiments;  // by "<ws>/<exp>"
  // The storage accounts of --storage-accounts that `az storage account create` made, and the
  // resource group each was made in (controlplane/storage_accounts.hpp).
  std::map<std::string, std::string> storage_account_groups;
  std::map<std::string, ClusterRecord> clusters;
  std::map<std::string, NodeRecord> nodes;
  std::map<std::string, JobRecord> jobs;  // by job_key(ws, exp, job)
};

}  // namespace batchai::cp
