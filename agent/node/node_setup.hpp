// The cluster's nodeSetup as the control plane hands it to the node at registration (reference
// §2): the cluster's volumes, the admin account and the setup task, read and checked whole
// before the node sets anything up, so that a bad field never leaves a node half prepared.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agent/node/admin_account.hpp"
#include "common/job_error.hpp"
#include "jobspec/job_spec.hpp"
#include "jobspec/volume.hpp"

namespace batchai {

// nodeSetup.setupTask: strings as written; $VAR expansion happens when it runs.
struct SetupTaskSpec {
  std::string command_line;
  std::string std_out_err_path_prefix;
  std::string std_out_err_path_suffix = "setup";
  std::vector<NameValue> environment_variables;
  std::vector<NameValue> secrets;
  std::string config_id;  // changes whenever the task's configuration does
};

struct NodeSetup {
  std::vector<MountVolume> mount_volumes;
  std::optional<AdminAccount> admin_account;
  std::optional<SetupTaskSpec> setup_task;
};

struct ParsedNodeSetup {
  NodeSetup setup;               // meaningful only when errors is empty
  std::vector<JobError> errors;  // each part's problems, with their fields; the node is unusable
};

// node_setup is null or an object (what registration gave).
ParsedNodeSetup parse_node_setup(const nlohmann::json& node_setup);

}  // namespace batchai
