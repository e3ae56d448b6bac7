// Clusters from the user's side: PUT /v1/clusters/{cluster} creates or replaces the settings.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "controlplane/api_error.hpp"
#include "controlplane/model.hpp"
#include "controlplane/store.hpp"

namespace batchai::cp {

struct ClusterSettings {
  nlohmann::json node_setup;
  nlohmann::json user_account_settings;
  nlohmann::json scale_settings;
  nlohmann::json vm_size;
  nlohmann::json vm_priority;
  nlohmann::json vm_configuration;
};

// {"nodeSetup", "scaleSettings", "userAccountSettings", "vmSize", "vmPriority"} (each optional,
// also wrapped in "properties"). Checks the shapes the control plane relies on; every problem
// is one line of the 400's message.
std::variant<ClusterSettings, ApiError> parse_cluster_settings(const std::string& body);

// Creates the cluster or replaces its settings (a new clusterConfigVersion). Returns true when
// it created it.
bool put_cluster(State& s, const std::string& name, const ClusterSettings& settings,
                 std::int64_t now, Events& events);

}  // namespace batchai::cp
